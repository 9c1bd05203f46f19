import ConsentBridge
import ConsentConfiguration
import ConsentContracts
import ConsentKafka
import ConsentOperator
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOFoundationEssentialsCompat
import Testing

/// The operator service's API and page against a running bridge on the embedded broker: what
/// operators can see and do about rejected messages, and what they never see.
@Suite("Operator service: rejections API and page (embedded broker; SQLite)", .serialized, .timeLimit(.minutes(4)))
struct OperatorAPITests {
    static let viewer = "viewer-token-0123456789abcdef"
    static let operatorToken = "operator-token-0123456789abcdef"
    static let patient = "12848740088"

    /// A bridge with one rejection of each kind an operator meets; returns the harness and the ids.
    private func bridgeWithRejections(environment: [String: String] = [:]) async throws -> (
        BridgeHarness, [String: String]
    ) {
        let harness = try BridgeHarness(environment: environment)
        try await harness.start()
        var ids: [String: String] = [:]
        // Consent-dependent (redrivable): work-relevant health information without consent.
        ids["no-consent"] = try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: BridgeRedriveTests.ceType, key: Self.patient,
            body: try BridgeRedriveTests.information())
        // A referral without consent (R7: sent anew by the clinician, never redriven).
        ids["referral"] = try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: Self.patient,
            body: try Fixtures.referral(patient: Self.patient))
        // Content faults: malformed JSON and an unknown type, both carrying the fødselsnummer.
        ids["json"] = try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: Self.patient,
            body: Array(#"{"patient": {"fodselsnummer": "\#(Self.patient)"}"#.utf8))
        ids["unknown"] = try await harness.publishEvent(
            topic: harness.topics.navOutbound, ceType: "no.ips.nav.unknown.v1", key: Self.patient,
            body: Array(#"{"fodselsnummer": "\#(Self.patient)"}"#.utf8))
        _ = try await harness.read(harness.topics.healthReceipts, atLeast: 3)
        _ = try await harness.read(harness.topics.navReceipts, atLeast: 1)
        return (harness, ids)
    }

    private func application(_ harness: BridgeHarness) throws -> some ApplicationProtocol {
        let running = try #require(harness.application)
        let dependencies = OperatorService.Dependencies(
            readiness: running.readiness, metrics: running.metrics, store: running.bridgeStore,
            redrive: running.redrive, topics: harness.topics,
            tokens: OperatorTokens(OperatorAccess(viewerTokens: [Self.viewer], operatorTokens: [Self.operatorToken])),
            sources: running.operatorSources)
        return Application(
            router: OperatorService.router(dependencies, snapshot: ReadinessSnapshot(), logger: harness.logs.logger))
    }

    private static func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
    }

    private static func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

    @Test("No token or a wrong one → 401 (same answer); a viewer reads but may not redrive (403); an operator may")
    func authentication() async throws {
        let (harness, ids) = try await bridgeWithRejections()
        let app = try application(harness)
        try await app.test(.router) { client in
            for headers: HTTPFields in [
                [:], Self.bearer("not-a-configured-token-0000"), [.authorization: "Basic dXNlcjpwYXNz"],
            ] {
                let response = try await client.execute(uri: "/api/rejections", method: .get, headers: headers)
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                #expect(
                    try Self.json(response)["error"] as? [String: String] == [
                        "code": "unauthorized", "message": "A bearer token of a viewer or an operator is required.",
                    ])
            }
            #expect(
                try await client.execute(uri: "/api/rejections", method: .get, headers: Self.bearer(Self.viewer)).status
                    == .ok)
            let forbidden = try await client.execute(
                uri: "/api/rejections/\(ids["no-consent"]!)/redrive", method: .post, headers: Self.bearer(Self.viewer))
            #expect(forbidden.status == .forbidden)
            let allowed = try await client.execute(
                uri: "/api/rejections/\(ids["no-consent"]!)/redrive", method: .post,
                headers: Self.bearer(Self.operatorToken))
            #expect(allowed.status == .ok)
            #expect(try Self.json(allowed)["outcome"] as? String == "still-rejected")
            // The page and the health probes need no token; the page holds no data.
            let page = try await client.execute(uri: "/operator", method: .get)
            #expect(page.status == .ok && page.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            #expect(try await client.execute(uri: "/health/live", method: .get).status == .ok)
        }
        await harness.finish()
        // The tokens are never logged.
        #expect(!harness.logs.all.contains { $0.contains(Self.viewer) || $0.contains(Self.operatorToken) })
    }

    @Test(
        "Rejections are listed newest first, filtered by reason, direction, type and time, paged, and counted by reason"
    )
    func listFilterPageCount() async throws {
        let (harness, ids) = try await bridgeWithRejections()
        let app = try application(harness)
        try await app.test(.router) { client in
            func get(_ uri: String) async throws -> [String: Any] {
                let response = try await client.execute(uri: uri, method: .get, headers: Self.bearer(Self.viewer))
                #expect(response.status == .ok, "\(uri)")
                return try Self.json(response)
            }
            func listed(_ body: [String: Any]) -> Set<String> {
                Set((body["items"] as? [[String: Any]] ?? []).compactMap { $0["messageId"] as? String })
            }
            let all = try await get("/api/rejections")
            #expect(all["total"] as? Int == 4)
            #expect(listed(all) == Set(ids.values))
            let times = (all["items"] as? [[String: Any]] ?? []).compactMap { $0["receivedAt"] as? String }
            #expect(times == times.sorted(by: >), "newest first")

            #expect(listed(try await get("/api/rejections?reason=referral-requires-consent")) == [ids["referral"]!])
            #expect(listed(try await get("/api/rejections?direction=nav-to-health")) == [ids["unknown"]!])
            #expect(
                listed(
                    try await get(
                        "/api/rejections?type=no.ips.health.referral.v1&reason=referral-requires-consent,invalid-json.syntax"
                    )) == [ids["referral"]!, ids["json"]!])
            #expect((try await get("/api/rejections?from=2999-01-01T00:00:00Z"))["total"] as? Int == 0)
            #expect((try await get("/api/rejections?until=2999-01-01T00:00:00Z"))["total"] as? Int == 4)

            // Pages of 3 and 1, no overlap, together everything.
            let first = try await get("/api/rejections?limit=3&offset=0")
            let second = try await get("/api/rejections?limit=3&offset=3")
            #expect(
                listed(first).count == 3 && listed(second).count == 1 && listed(first).isDisjoint(with: listed(second)))
            #expect(listed(first).union(listed(second)) == Set(ids.values))

            let counts = try await get("/api/rejections/counts?bucket=minute")
            let totals = try #require(counts["totals"] as? [String: Int])
            #expect(totals.values.reduce(0, +) == 4)
            #expect(totals["referral-requires-consent"] == 1)

            // The detail names the reason in English and Norwegian, and whether a redrive may help.
            let detail = try await get("/api/rejections/\(ids["no-consent"]!)")
            let reason = try #require(detail["reason"] as? [String: Any])
            #expect(reason["english"] as? String == "The patient has not consented to sharing this information.")
            #expect(reason["norwegian"] as? String == "Pasienten har ikke samtykket til at denne informasjonen deles.")
            #expect(detail["redrivable"] as? Bool == true)
            #expect((try await get("/api/rejections/\(ids["json"]!)"))["redrivable"] as? Bool == false)
            #expect(
                (try await get("/api/rejections/\(ids["referral"]!)"))["redrivable"] as? Bool == false,
                "R7: a referral is sent anew")

            // Bad input is refused with a reason, never half-applied.
            for (uri, code) in [
                ("/api/rejections?limit=0", "invalid-limit"), ("/api/rejections?limit=abc", "invalid-limit"),
                ("/api/rejections?direction=sideways", "invalid-direction"),
                ("/api/rejections?from=yesterday", "invalid-from"),
                ("/api/rejections/counts?bucket=week", "invalid-bucket"),
            ] {
                let response = try await client.execute(uri: uri, method: .get, headers: Self.bearer(Self.viewer))
                #expect(response.status == .badRequest, "\(uri)")
                #expect((try Self.json(response)["error"] as? [String: String])?["code"] == code, "\(uri)")
            }
            #expect(
                try await client.execute(
                    uri: "/api/rejections/no-such-id", method: .get, headers: Self.bearer(Self.viewer)
                ).status == .notFound)
        }
        await harness.finish()
    }

    @Test(
        "A filter that cannot match (an unknown reason, a malformed type, an empty period, a misspelt or repeated parameter) is refused with 400 and a code, never answered with an empty list"
    )
    func badFiltersAreRefused() async throws {
        let (harness, ids) = try await bridgeWithRejections()
        let app = try application(harness)
        try await app.test(.router) { client in
            func get(_ uri: String) async throws -> TestResponse {
                try await client.execute(uri: uri, method: .get, headers: Self.bearer(Self.viewer))
            }
            let unknownType = try #require(
                try Self.json(try await get("/api/rejections/\(ids["unknown"]!)"))["ceType"] as? String)
            #expect(unknownType.hasPrefix("unknown-"), "the sender's unknown type is shown as a digest")
            let planted = "%3Cscript%3E\(Self.patient)"
            for (uri, code) in [
                ("/api/rejections?reason=bogus", "invalid-reason"),
                ("/api/rejections?reason=\(planted)", "invalid-reason"),
                ("/api/rejections?reason=no-consent,bogus", "invalid-reason"),
                ("/api/rejections?reason=no-consent,", "invalid-reason"),
                ("/api/rejections?reason=invalid-json.bogus", "invalid-reason"),
                ("/api/rejections/counts?reason=bogus", "invalid-reason"),
                ("/api/rejections?type=bogus", "invalid-type"),
                ("/api/rejections?type=\(planted)", "invalid-type"),
                ("/api/rejections?type=no.ips.health.referral", "invalid-type"),
                ("/api/rejections?type=no.ips.referral.v1", "invalid-type"),
                ("/api/rejections?type=NO.IPS.health.referral.v1", "invalid-type"),
                ("/api/rejections?type=unknown-1234567", "invalid-type"),
                ("/api/rejections?type=unknown-ABCDEF12", "invalid-type"),
                ("/api/rejections/counts?type=bogus", "invalid-type"),
                ("/api/rejections?from=2026-12-05T00:00:00Z&until=2026-12-04T00:00:00Z", "invalid-period"),
                ("/api/rejections?from=2026-12-04T00:00:00Z&until=2026-12-04T00:00:00Z", "invalid-period"),
                ("/api/rejections/counts?from=2026-12-05T00:00:00Z&until=2026-12-04T00:00:00Z", "invalid-period"),
                ("/api/deliveries/counts?from=2026-12-05T00:00:00Z&until=2026-12-04T00:00:00Z", "invalid-period"),
                ("/api/deliveries/counts?from=yesterday", "invalid-from"),
                ("/api/rejections?reasons=no-consent", "unknown-parameter"),
                ("/api/rejections?\(planted)=1", "unknown-parameter"),
                ("/api/rejections/counts?limit=10", "unknown-parameter"),
                ("/api/deliveries/counts?reason=no-consent", "unknown-parameter"),
                ("/api/rejections?limit=10&limit=20", "invalid-limit"),
                ("/api/rejections?reason=no-consent&reason=bogus", "invalid-reason"),
                ("/api/rejections?offset=-1", "invalid-offset"),
                ("/api/rejections/bogus%2F..%2Fx", "invalid-id"),
                ("/api/rejections/\(String(repeating: "a", count: 201))", "invalid-id"),
            ] {
                let response = try await get(uri)
                #expect(response.status == .badRequest, "\(uri)")
                #expect((try? Self.json(response)["error"] as? [String: String])?["code"] == code, "\(uri)")
                let body = String(buffer: response.body)
                #expect(!body.contains("script") && !body.contains(Self.patient), "no input is echoed: \(uri)")
            }
            let redrive = try await client.execute(
                uri: "/api/rejections/bogus%2F..%2Fx/redrive", method: .post, headers: Self.bearer(Self.operatorToken))
            #expect(redrive.status == .badRequest)
            #expect((try Self.json(redrive)["error"] as? [String: String])?["code"] == "invalid-id")
            let batch = try await client.execute(
                uri: "/api/rejections/redrive", method: .post, headers: Self.bearer(Self.operatorToken),
                body: ByteBuffer(string: #"{"messageIds": ["\#(ids["json"]!)", "<b>\#(Self.patient)</b>"]}"#))
            #expect(batch.status == .badRequest, "a batch with an id that cannot be one is refused whole")
            #expect(!String(buffer: batch.body).contains(Self.patient))

            // Well formed but never rejected: an empty list, rightly.
            for uri in [
                "/api/rejections?type=no.ips.health.not-a-contract.v9", "/api/rejections?type=unknown-0000abcd",
                "/api/rejections?reason=invalid-json.duplicate-key",
            ] {
                let response = try await get(uri)
                #expect(response.status == .ok, "\(uri)")
                #expect((try Self.json(response))["total"] as? Int == 0, "\(uri)")
            }
            // What the API lists filters as listed: the digest of an unknown type, every reason
            // code GET /api/reasons names (the invalid-json family included), empty values.
            let byDigest = try Self.json(try await get("/api/rejections?type=\(unknownType)"))
            #expect(byDigest["total"] as? Int == 1)
            let reasons = try #require(try Self.json(try await get("/api/reasons"))["reasons"] as? [[String: Any]])
            let codes = reasons.compactMap { $0["code"] as? String }
            #expect(codes.contains("invalid-json.syntax") && codes.contains("no-consent"))
            #expect(try await get("/api/rejections?reason=\(codes.joined(separator: ","))").status == .ok)
            let all = try Self.json(try await get("/api/rejections?reason=&type=&from=&until=&direction="))
            #expect(all["total"] as? Int == 4)
        }
        await harness.finish()
    }

    @Test(
        "A served path answers other methods with 405, Allow and the JSON error (after the token check under /api); HEAD is GET without a body; an unknown path is a JSON 404"
    )
    func methodsAndPaths() async throws {
        let (harness, ids) = try await bridgeWithRejections()
        let app = try application(harness)
        let id = try #require(ids["no-consent"])
        try await app.test(.router) { client in
            for (method, uri, allow) in [
                (HTTPRequest.Method.delete, "/api/rejections/\(id)", "GET, HEAD"),
                (.post, "/api/rejections/\(id)", "GET, HEAD"),
                (.put, "/api/rejections", "GET, HEAD"),
                (.post, "/api/rejections/counts", "GET, HEAD"),
                (.get, "/api/rejections/redrive", "POST"),
                (.head, "/api/rejections/redrive", "POST"),
                (.get, "/api/rejections/\(id)/redrive", "POST"),
                (.delete, "/api/reasons", "GET, HEAD"),
                (.post, "/api/deliveries/counts", "GET, HEAD"),
                (.post, "/metrics", "GET, HEAD"),
                (.delete, "/health/ready", "GET, HEAD"),
                (.put, "/operator", "GET, HEAD"),
                (.options, "/operator/app.js", "GET, HEAD"),
            ] {
                let response = try await client.execute(
                    uri: uri, method: method, headers: Self.bearer(Self.operatorToken))
                #expect(response.status == .methodNotAllowed, "\(method) \(uri)")
                #expect(response.headers[.allow] == allow, "\(method) \(uri)")
                #expect(response.headers[.contentType] == "application/json", "\(method) \(uri)")
                #expect(
                    (try? Self.json(response)["error"] as? [String: String])?["code"] == "method-not-allowed",
                    "\(method) \(uri)")
            }
            // Under /api the token comes first, whether the path exists or not.
            for (method, uri) in [
                (HTTPRequest.Method.delete, "/api/rejections/\(id)"), (.get, "/api/rejections/redrive"),
                (.get, "/api/no-such-path"),
            ] {
                let response = try await client.execute(uri: uri, method: method)
                #expect(response.status == .unauthorized, "\(method) \(uri)")
                #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            }
            for uri in ["/api/no-such-path", "/api/rejections/\(id)/nothing", "/no-such-path", "/operator/x.js"] {
                let response = try await client.execute(uri: uri, method: .get, headers: Self.bearer(Self.viewer))
                #expect(response.status == .notFound, "\(uri)")
                #expect((try? Self.json(response)["error"] as? [String: String])?["code"] == "unknown-path", "\(uri)")
            }
            // HEAD: GET's status and headers, no body (and the token still checked). A refusal's
            // body is left out on the wire (NIO's encoder frames every answer to HEAD without one).
            for uri in ["/operator", "/metrics", "/health/live", "/api/rejections", "/api/rejections/\(id)"] {
                let response = try await client.execute(uri: uri, method: .head, headers: Self.bearer(Self.viewer))
                #expect(response.status == .ok, "HEAD \(uri)")
                #expect(response.body.readableBytes == 0, "HEAD \(uri)")
                let get = try await client.execute(uri: uri, method: .get, headers: Self.bearer(Self.viewer))
                #expect(response.headers[.contentType] == get.headers[.contentType], "HEAD \(uri)")
            }
            #expect(
                try await client.execute(
                    uri: "/api/rejections/no-such-id", method: .head, headers: Self.bearer(Self.viewer)
                ).status == .notFound)
            #expect(try await client.execute(uri: "/api/rejections", method: .head).status == .unauthorized)
        }
        await harness.finish()
    }

    @Test("The bearer scheme is matched in any case (RFC 9110 §11.1); the token itself exactly")
    func bearerSchemeInAnyCase() async throws {
        let (harness, _) = try await bridgeWithRejections()
        let app = try application(harness)
        try await app.test(.router) { client in
            for header in ["bearer \(Self.viewer)", "BEARER \(Self.viewer)", "BeArEr  \(Self.viewer)"] {
                let response = try await client.execute(
                    uri: "/api/rejections", method: .get, headers: [.authorization: header])
                #expect(response.status == .ok, "\(header.prefix(8))")
            }
            for header in [
                "bearer \(Self.viewer.uppercased())", "bearer", "bearer ", "Bearer\(Self.viewer)",
                "Bearerx \(Self.viewer)",
                "Basic \(Self.viewer)", "bearer \(Self.viewer) x",
            ] {
                let response = try await client.execute(
                    uri: "/api/rejections", method: .get, headers: [.authorization: header])
                #expect(response.status == .unauthorized, "\(header.prefix(8))")
            }
            let redrive = try await client.execute(
                uri: "/api/rejections/redrive", method: .post, headers: [.authorization: "bearer \(Self.viewer)"],
                body: ByteBuffer(string: #"{"messageIds": ["x"]}"#))
            #expect(redrive.status == .forbidden, "a viewer is a viewer whatever the scheme's case")
        }
        await harness.finish()
    }

    @Test(
        "R1/R7: a redrive decides again against the current consent: forwarded once after consent; a referral must be sent anew; a content fault stays"
    )
    func R1_redriveThroughTheAPI() async throws {
        let (harness, ids) = try await bridgeWithRejections()
        let app = try application(harness)
        try await harness.publishConsent(
            patient: Self.patient,
            try Fixtures.consent(patient: Self.patient, categories: ["identity-and-contact", "work-relevant-health"]))
        try await app.test(.router) { client in
            let response = try await client.execute(
                uri: "/api/rejections/redrive", method: .post, headers: Self.bearer(Self.operatorToken),
                body: ByteBuffer(
                    string:
                        #"{"messageIds": ["\#(ids["no-consent"]!)", "\#(ids["referral"]!)", "\#(ids["json"]!)", "missing"]}"#
                ))
            #expect(response.status == .ok)
            let results = try #require(try Self.json(response)["results"] as? [[String: String]])
            #expect(results.map { $0["outcome"] ?? "" } == ["forwarded", "send-anew", "not-redrivable", "not-found"])
            #expect(results[2]["reasonCode"] == "invalid-json.syntax")
            let again = try await client.execute(
                uri: "/api/rejections/\(ids["no-consent"]!)/redrive", method: .post,
                headers: Self.bearer(Self.operatorToken))
            #expect(try Self.json(again)["outcome"] as? String == "already-redriven")
            let listed = try await client.execute(
                uri: "/api/rejections/\(ids["no-consent"]!)", method: .get, headers: Self.bearer(Self.viewer))
            #expect(try Self.json(listed)["redrivenOutcome"] as? String == "forward")
            for body in ["", "{}", #"{"messageIds": []}"#, #"{"messageIds": "x"}"#] {
                let bad = try await client.execute(
                    uri: "/api/rejections/redrive", method: .post, headers: Self.bearer(Self.operatorToken),
                    body: ByteBuffer(string: body))
                #expect(bad.status == .badRequest, "\(body)")
            }
        }
        let forwarded = try await harness.read(harness.topics.followUpInbound, atLeast: 1)
        await harness.finish()
        #expect(forwarded.count == 1)
    }

    @Test(
        "R9: per recipient system, operators see as many published copies (identified and anonymous) as its inbound topic received"
    )
    func R9_deliveriesPerDestination() async throws {
        let harness = try BridgeHarness()
        try await harness.start()
        let catalog = try ContractCatalog.load(directory: BridgeHarness.contractsDirectory)
        // The job specialist only; both NAV roles; no consent at all.
        let (specialistOnly, bothRoles, unconsented) = ("12848740088", "28827240070", "03919540000")
        try await harness.publishConsent(
            patient: specialistOnly, try Fixtures.consent(patient: specialistOnly, roles: ["ips-job-specialist"]))
        try await harness.publishConsent(
            patient: bothRoles, try Fixtures.consent(patient: bothRoles, roles: ["ips-job-specialist", "nav-veileder"]))
        for patient in [specialistOnly, bothRoles] {
            try await harness.publishEvent(
                topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: patient,
                body: try Fixtures.referral(patient: patient))
        }
        // Before consent a case is discussed only anonymously, with the job specialist (R2).
        let discussion = try #require(catalog.contract(named: "anonymous-case-discussion"))
        try await harness.publishEvent(
            topic: discussion.sourceTopic, ceType: discussion.ceType, key: unconsented,
            body: try Fixtures.with(
                subject: unconsented, at: discussion.subjectPath,
                in: try Fixtures.validExamples(discussion.name)[0]))
        // The job specialist's job status reaches the journal.
        let jobStatus = try #require(catalog.contract(named: "job-status-update"))
        try await harness.publishEvent(
            topic: harness.topics.followUpOutbound, ceType: jobStatus.ceType, key: bothRoles,
            body: try Fixtures.with(
                subject: bothRoles, at: jobStatus.subjectPath, in: try Fixtures.validExamples(jobStatus.name)[0]))
        // What each system's inbound topic really received.
        let received = [
            harness.topics.followUpInbound: try await harness.read(harness.topics.followUpInbound, atLeast: 3),
            harness.topics.navInbound: try await harness.read(harness.topics.navInbound, atLeast: 1),
            harness.topics.healthInbound: try await harness.read(harness.topics.healthInbound, atLeast: 1),
        ]
        #expect(
            received.mapValues(\.count) == ["nav.followup.inbound": 3, "nav.ips.inbound": 1, "health.ips.inbound": 1])

        let app = try application(harness)
        let body = try await app.test(.router) { client -> [String: Any] in
            // The relay marks rows published after the records reached the topics: ask until none is pending.
            let deadline = ContinuousClock.now + .seconds(20)
            while true {
                let response = try await client.execute(
                    uri: "/api/deliveries/counts", method: .get, headers: Self.bearer(Self.viewer))
                #expect(response.status == .ok)
                let body = try Self.json(response)
                let pending = (body["destinations"] as? [[String: Any]] ?? []).map {
                    ($0["pending"] as? [String: Int] ?? [:]).values.reduce(0, +)
                }
                if pending.allSatisfy({ $0 == 0 }) || ContinuousClock.now > deadline { return body }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        let destinations = try #require(body["destinations"] as? [[String: Any]])
        #expect(
            destinations.map { $0["system"] as? String } == ["health-journal", "nav-case", "nav-followup"],
            "every recipient system is listed, in a fixed order")
        func count(_ topic: String, _ status: String) -> [String: Int]? {
            destinations.first { $0["topic"] as? String == topic }?[status] as? [String: Int]
        }
        #expect(count("nav.followup.inbound", "published") == ["identified": 2, "anonymous": 1])
        #expect(count("nav.ips.inbound", "published") == ["identified": 1, "anonymous": 0])
        #expect(count("health.ips.inbound", "published") == ["identified": 1, "anonymous": 0])
        for (topic, records) in received {
            #expect(count(topic, "published")?.values.reduce(0, +) == records.count, "\(topic)")
            for status in ["withheld", "pending", "failed"] {
                #expect(count(topic, status) == ["identified": 0, "anonymous": 0], "\(topic) \(status)")
            }
        }
        // A window before anything happened counts nothing.
        let empty = try await app.test(.router) { client in
            try Self.json(
                try await client.execute(
                    uri: "/api/deliveries/counts?until=2000-01-01T00:00:00Z", method: .get,
                    headers: Self.bearer(Self.viewer)))
        }
        #expect(
            (empty["destinations"] as? [[String: Any]] ?? []).allSatisfy {
                ($0["published"] as? [String: Int])?.values.reduce(0, +) == 0
            })
        // The same counts as metrics (the relay's, since the process started).
        let metrics = try #require(harness.metrics).prometheusText()
        #expect(
            metrics.contains(
                #"consent_bridge_deliveries_total{destination="nav.followup.inbound",form="identified",outcome="published"} 2"#
            ))
        #expect(
            metrics.contains(
                #"consent_bridge_deliveries_total{destination="nav.followup.inbound",form="anonymous",outcome="published"} 1"#
            ))
        #expect(
            metrics.contains(
                #"consent_bridge_deliveries_total{destination="nav.ips.inbound",form="identified",outcome="published"} 1"#
            ))
        await harness.finish()
    }

    @Test(
        "R9: once a rejection's sealed copy is erased, the API says so (sealed false, when erased), it is no longer redrivable, a redrive answers expired, and the erasure is counted"
    )
    func R9_expiredRejectionsInTheAPI() async throws {
        let (harness, ids) = try await bridgeWithRejections()
        let app = try application(harness)
        let running = try #require(harness.application)
        let retention = try #require(running.services.compactMap { $0 as? SealedPayloadRetention }.first)
        let id = try #require(ids["no-consent"])
        try await app.test(.router) { client in
            let before = try Self.json(
                try await client.execute(uri: "/api/rejections/\(id)", method: .get, headers: Self.bearer(Self.viewer)))
            #expect(before["sealed"] as? Bool == true && before["redrivable"] as? Bool == true)
            #expect(before["sealedCopyErasedAt"] is NSNull)

            // Every rejection so far (those of malformed JSON and an unknown type are sealed too).
            let erased = try await retention.eraseExpired(now: Date().addingTimeInterval(31 * 86_400))
            #expect(erased == 4)
            let after = try Self.json(
                try await client.execute(uri: "/api/rejections/\(id)", method: .get, headers: Self.bearer(Self.viewer)))
            #expect(after["sealed"] as? Bool == false && after["redrivable"] as? Bool == false)
            #expect(after["sealedCopyErasedAt"] as? String != nil)
            #expect(after["reasonCode"] as? String == before["reasonCode"] as? String)
            let redriven = try await client.execute(
                uri: "/api/rejections/\(id)/redrive", method: .post, headers: Self.bearer(Self.operatorToken))
            #expect(try Self.json(redriven)["outcome"] as? String == "expired")
            let counts = try Self.json(
                try await client.execute(
                    uri: "/api/rejections/counts?bucket=day", method: .get, headers: Self.bearer(Self.viewer)))
            #expect((counts["totals"] as? [String: Int])?.values.reduce(0, +) == 4, "counts and trends stay")
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            #expect(
                String(buffer: metrics.body).contains("consent_bridge_rejection_payloads_erased_total 4"),
                "the erasure is counted")
        }
        await harness.finish()
    }

    @Test(
        "No API answer, page, metric, log line, receipt or rejection notice holds the fødselsnummer planted in every rejected message, or the name a sender put in a ce_id or a ce_source (R16)"
    )
    func canaryNoPersonalDataInOperatorViews() async throws {
        // `urn:test` (every other event's source) is listed as one of the deployment's own.
        let (harness, ids) = try await bridgeWithRejections(environment: [
            "CONSENT_BRIDGE_OPERATOR_KNOWN_SOURCES": "urn:no:ips:other, urn:test"
        ])
        // A name fits the ce_id alphabet and holds no number: refused as not a UUID, and the
        // message recorded under its position.
        let name = "Kari.Nordmann"
        try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: BridgeRedriveTests.ceType, key: Self.patient,
            body: try BridgeRedriveTests.information(), id: name)
        // A name fits a URI too: this envelope is well formed, the event is refused for want of
        // consent, and its source is recorded as sent (a redrive decides it again with it).
        // Twice, from the same source: operators can tell the two came from one system.
        var sent: [String] = []
        for _ in 0..<2 {
            sent.append(
                try await harness.publishEvent(
                    topic: harness.topics.healthOutbound, ceType: BridgeRedriveTests.ceType, key: Self.patient,
                    body: try BridgeRedriveTests.information(), source: "urn:epj:\(name)"))
        }
        let namedSource = sent
        let receipts = try await harness.read(harness.topics.healthReceipts, atLeast: 6)
        let named = try receipts.compactMap { record -> [String: Any]? in
            let body = try JSONSerialization.jsonObject(with: Data(record.value ?? [])) as? [String: Any]
            return (body?["messageId"] as? String)?.hasPrefix("kafka:\(harness.topics.healthOutbound):") == true
                ? body : nil
        }
        #expect(named.count == 1)
        #expect(named.first?["reasonCode"] as? String == "invalid-envelope")
        let notices = try await harness.read(harness.topics.rejected, atLeast: 7)
        let app = try application(harness)
        let seen = try await app.test(.router) { client -> [String] in
            var seen: [String] = []
            var uris = [
                "/api/rejections", "/api/rejections/counts?bucket=minute", "/api/reasons", "/api/deliveries/counts",
                "/operator",
                "/operator/app.js", "/metrics", "/health/ready",
            ]
            uris += (Array(ids.values) + namedSource).map { "/api/rejections/\($0)" }
            for uri in uris {
                let response = try await client.execute(uri: uri, method: .get, headers: Self.bearer(Self.viewer))
                seen.append("\(uri): \(String(buffer: response.body))")
            }
            let redrive = try await client.execute(
                uri: "/api/rejections/\(ids["no-consent"]!)/redrive", method: .post,
                headers: Self.bearer(Self.operatorToken))
            seen.append(String(buffer: redrive.body))
            return seen
        }
        await harness.finish()
        #expect(seen.count >= 12)
        // The listed source as written; the other as a keyed digest, the same for both events.
        let sources = try seen.filter { $0.hasPrefix("/api/rejections/") }.map { text in
            let body = try JSONSerialization.jsonObject(with: Data(text.drop { $0 != "{" }.utf8)) as? [String: Any]
            return (id: body?["messageId"] as? String ?? "", source: body?["ceSource"] as? String)
        }
        #expect(sources.first { $0.id == ids["no-consent"] }?.source == "urn:test")
        let digests = Set(sources.filter { namedSource.contains($0.id) }.map(\.source))
        #expect(digests.count == 1)
        let digest = try #require(digests.first ?? nil)
        #expect(digest.wholeMatch(of: /unlisted-[0-9a-f]{8}/) != nil, "\(digest)")
        // Every decision is one content-free log line at info.
        let decided = harness.logs.all.filter { $0.hasPrefix("info Decided ") }
        #expect(decided.count == 7)
        for id in ids.values { #expect(decided.filter { $0.contains(id) }.count == 1, "\(id)") }
        #expect(
            decided.contains {
                $0.contains("decision.code: referral-requires-consent")
                    || $0.contains(#""decision.code": referral-requires-consent"#)
            })
        // The metrics count events by direction, type (unknown types as such) and outcome, and rejections by reason.
        let metrics = try #require(seen.first { $0.hasPrefix("/metrics: ") })
        #expect(
            metrics.contains(
                #"consent_bridge_events_total{direction="nav-to-health",type="unknown",outcome="rejected"} 1"#))
        #expect(
            metrics.contains(
                #"consent_bridge_events_total{direction="health-to-nav",type="no.ips.health.referral.v1",outcome="rejected"} 2"#
            ))
        #expect(metrics.contains(#"consent_bridge_rejections_total{reason="referral-requires-consent"} 1"#))
        #expect(metrics.contains("consent_bridge_decision_latency_seconds_count 7"))
        #expect(metrics.contains(#"consent_bridge_rejections_total{reason="invalid-envelope"} 1"#))
        let published = (receipts + notices).map { record in
            String(decoding: record.value ?? [], as: UTF8.self) + String(decoding: record.key ?? [], as: UTF8.self)
                + record.headers.map { String(decoding: $0.value ?? [], as: UTF8.self) }.joined(separator: " ")
        }
        #expect(published.contains { $0.contains("invalid-envelope") })
        for text in seen + harness.logs.all + published {
            #expect(!text.contains(Self.patient), "\(text.prefix(200))")
            #expect(!text.contains("Nordmann"), "\(text.prefix(200))")
        }
    }
}
