import Testing

@testable import ConsentContracts

/// The contract metadata drives every policy decision, so the loader refuses contracts whose
/// metadata would let data cross without a rule.
@Suite("Contract metadata checks")
struct MessageContractBuilderTests {
    private func diagnostics(
        _ changes: String = "", properties: String = #""id":{"type":"string","x-classification":"operational"}"#,
        routing: String = #""x-destinations":{"ips-job-specialist":"nav.followup.inbound"},"#,
        roles: String = #"["ips-job-specialist"]"#
    ) throws -> [String] {
        let text = """
            {"$schema":"https://json-schema.org/draft/2020-12/schema",
             "x-ce-type":"no.ips.health.sample.v1","x-direction":"health-to-nav",
             "x-source-topic":"health.ips.outbound",\(routing)
             "x-recipient-roles":\(roles),"x-subject-field":"/id","x-anonymous-form":false,
             "x-required-for-forwarding":["/id"],\(changes)
             "type":"object","properties":{\(properties)}}
            """
        let document = try StrictJSON.parse(text)
        return MessageContractBuilder.build(name: "sample", file: "schemas/sample.schema.json", document: document)
            .diagnostics.map { "\($0.pointer) \($0.message)" }
    }

    @Test("a well-formed contract has no diagnostics")
    func clean() throws {
        #expect(try diagnostics() == [])
    }

    @Test("R9: a health-to-nav contract names each recipient role's own system, and only those roles")
    func R9_healthToNavNamesEachRolesOwnSystem() throws {
        // Both roles, each to its own system: clean.
        #expect(
            try diagnostics(
                routing:
                    #""x-destinations":{"ips-job-specialist":"nav.followup.inbound","nav-veileder":"nav.ips.inbound"},"#,
                roles: #"["ips-job-specialist","nav-veileder"]"#) == [])
        // The job specialist's copy into the veileder's case system: refused.
        #expect(
            try diagnostics(routing: #""x-destinations":{"ips-job-specialist":"nav.ips.inbound"},"#).contains(
                "/x-destinations/ips-job-specialist ips-job-specialist receives on nav.followup.inbound"))
        // A destination for a role the contract does not name: refused.
        #expect(
            try diagnostics(
                routing:
                    #""x-destinations":{"ips-job-specialist":"nav.followup.inbound","nav-veileder":"nav.ips.inbound"},"#
            ).contains("/x-destinations must name a topic for exactly the roles in x-recipient-roles"))
        // The old single destination: refused (it would send every role's copy to one system).
        #expect(
            try diagnostics(routing: #""x-destination-topic":"nav.ips.inbound","#).contains(
                "/x-destination-topic health-to-nav messages name each role's topic in x-destinations"))
    }

    @Test("R9: a NAV system speaks only for its own role: a NAV-to-health message comes from its sender's system")
    func R9_navToHealthComesFromTheSendersSystem() throws {
        func build(source: String, roles: String) throws -> [String] {
            let text = """
                {"$schema":"https://json-schema.org/draft/2020-12/schema",
                 "x-ce-type":"no.ips.nav.sample.v1","x-direction":"nav-to-health",
                 "x-source-topic":"\(source)","x-destination-topic":"health.ips.inbound",
                 "x-recipient-roles":\(roles),"x-subject-field":"/id","x-anonymous-form":false,
                 "x-required-for-forwarding":["/id"],
                 "type":"object","properties":{"id":{"type":"string","x-classification":"operational"}}}
                """
            return MessageContractBuilder.build(
                name: "sample", file: "schemas/sample.schema.json", document: try StrictJSON.parse(text)
            ).diagnostics.map { "\($0.pointer) \($0.message)" }
        }
        #expect(try build(source: "nav.followup.outbound", roles: #"["ips-job-specialist"]"#) == [])
        #expect(try build(source: "nav.ips.outbound", roles: #"["nav-veileder"]"#) == [])
        #expect(
            try build(source: "nav.ips.outbound", roles: #"["ips-job-specialist"]"#).contains(
                "/x-source-topic nav-to-health messages are read from nav.followup.outbound"))
        #expect(
            try build(source: "nav.ips.outbound", roles: #"["ips-job-specialist","nav-veileder"]"#).contains(
                "/x-recipient-roles a nav-to-health message is sent by exactly one role"))
    }

    @Test("R8: consent-governed classes need a known category; generalizations fit the class")
    func categoriesAndGeneralizations() throws {
        let found = try diagnostics(
            properties: #"""
                "id":{"type":"string","x-classification":"operational"},
                "note":{"type":"string","x-classification":"free-text"},
                "birth":{"type":"string","x-classification":"quasi-identifier","x-consent-category":"identity-and-contact","x-anonymize":"keep"},
                "goal":{"type":"string","x-classification":"work-related","x-consent-category":"work-status","x-anonymize":"county"},
                "secret":{"type":"string","x-classification":"secret"}
                """#)
        #expect(found.contains("/properties/note free-text property needs x-consent-category"))
        #expect(
            found.contains("/properties/birth/x-anonymize 'keep' is only allowed on work-related or operational fields")
        )
        #expect(found.contains("/properties/goal/x-anonymize generalization is only for quasi-identifiers"))
        #expect(found.contains("/properties/secret/x-classification unknown classification"))
    }

    @Test("R8: an array property declares what it holds (the filter reads content through items)")
    func arraysDeclareTheirItems() throws {
        let found = try diagnostics(
            properties: #"""
                "id":{"type":"string","x-classification":"operational"},
                "tags":{"type":"array","x-classification":"operational"},
                "codes":{"type":["array","null"],"x-classification":"operational"},
                "goals":{"type":"array","x-classification":"operational","items":{"type":"string"}}
                """#)
        #expect(found.contains("/properties/tags an array property declares its items"))
        #expect(found.contains("/properties/codes an array property declares its items"))
        #expect(!found.contains { $0.hasPrefix("/properties/goals") })
    }

    @Test("ce_type shape, unknown roles and dangling pointers are reported together")
    func metadataShapes() throws {
        let text = """
            {"$schema":"https://json-schema.org/draft/2020-12/schema",
             "x-ce-type":"Referral","x-direction":"nav-internal",
             "x-source-topic":"nav.ips.outbound","x-destination-topic":"health.ips.inbound",
             "x-recipient-roles":["lege"],"x-subject-field":"/patient","x-anonymous-form":"no",
             "x-required-for-forwarding":["id"],
             "type":"object","properties":{"id":{"type":"string","x-classification":"operational"}}}
            """
        let result = MessageContractBuilder.build(
            name: "x", file: "schemas/x.schema.json", document: try StrictJSON.parse(text))
        #expect(result.contract == nil)
        let found = Set(result.diagnostics.map(\.pointer))
        #expect(
            found.isSuperset(of: [
                "/x-ce-type", "/x-destination-topic", "/x-recipient-roles/0", "/x-subject-field", "/x-anonymous-form",
                "/x-required-for-forwarding/0",
            ]))
    }
}
