/// Builds a `MessageContract` from one schema document, collecting every problem it finds.
///
/// Shared by `ContractCatalog.load` (which throws on any error) and the contract linter
/// (which reports them all).
package struct MessageContractBuilder {
    /// Contract stem (file name without `.schema.json`).
    package let name: String
    /// File path for diagnostics, relative to the contracts directory.
    package let file: String
    private let document: JSONValue
    private(set) var diagnostics: [ContractDiagnostic] = []

    /// A builder for `document` read from `file`.
    package init(name: String, file: String, document: JSONValue) {
        self.name = name
        self.file = file
        self.document = document
    }

    /// The contract, or nil when an error makes it unusable; plus every diagnostic found.
    package static func build(
        name: String, file: String, document: JSONValue
    ) -> (contract: MessageContract?, diagnostics: [ContractDiagnostic]) {
        var builder = MessageContractBuilder(name: name, file: file, document: document)
        let contract = builder.run()
        return (contract, builder.diagnostics)
    }

    private mutating func run() -> MessageContract? {
        guard let root = document.objectValue else {
            error("", "a contract schema must be a JSON object")
            return nil
        }
        var schema: JSONSchema? = nil
        do throws(SchemaCompileError) {
            schema = try JSONSchema(compiling: document)
        } catch {
            self.error(error.pointer, error.message)
        }
        if root["$schema"]?.stringValue != "https://json-schema.org/draft/2020-12/schema" {
            error("/$schema", "must be https://json-schema.org/draft/2020-12/schema")
        }
        let ceType = requiredString(root, "x-ce-type")
        if let ceType, !Self.isWellFormedCEType(ceType) {
            error("/x-ce-type", "must look like no.ips.<side>.<message>.v<N>")
        }
        var direction: MessageDirection? = nil
        if let raw = requiredString(root, "x-direction") {
            direction = MessageDirection(rawValue: raw)
            if direction == nil { error("/x-direction", "unknown direction") }
        }
        var sourceTopic: String? = nil
        if direction == .bridge {
            // The bridge writes these itself, possibly on several topics (one per side).
            if let list = root["x-topics"]?.arrayValue, !list.isEmpty {
                for (position, topic) in list.enumerated()
                where !(topic.stringValue.map(ContractVocabulary.topics.contains) ?? false) {
                    error("/x-topics/\(position)", "unknown topic")
                }
                sourceTopic = list.first?.stringValue
            } else {
                error("/x-topics", "a bridge contract lists the topics it is written to")
            }
        } else {
            sourceTopic = requiredString(root, "x-source-topic")
            if let sourceTopic, !ContractVocabulary.topics.contains(sourceTopic) {
                error("/x-source-topic", "unknown topic '\(sourceTopic)'")
            }
        }
        var recipientRoles: [String] = []
        if let list = root["x-recipient-roles"]?.arrayValue {
            for (position, role) in list.enumerated() {
                if let role = role.stringValue, ContractVocabulary.recipientRoles.contains(role) {
                    recipientRoles.append(role)
                } else {
                    error("/x-recipient-roles/\(position)", "unknown recipient role")
                }
            }
        } else {
            error("/x-recipient-roles", "missing or not an array")
        }
        if direction == .healthToNav || direction == .navToHealth, recipientRoles.isEmpty {
            error("/x-recipient-roles", "a message that crosses must name its NAV-side roles")
        }
        var destinations: [ContractDestination] = []
        if let direction {
            destinations = checkRouting(direction, source: sourceTopic, roles: recipientRoles, root: root)
        }
        var hasAnonymousForm = false
        if let flag = root["x-anonymous-form"]?.boolValue {
            hasAnonymousForm = flag
        } else {
            error("/x-anonymous-form", "missing or not a boolean")
        }
        if hasAnonymousForm, destinations.count != 1 {
            // The anonymous form exists for one meeting: the team's case discussion with one role.
            error("/x-anonymous-form", "a message with an anonymous form goes to exactly one role's system")
        }

        var fields: [FieldRule] = []
        collectFields(of: document, schemaPointer: [], path: [], into: &fields, visiting: [])

        var subjectPath: [String] = []
        if direction == .bridge, root["x-subject-field"] == nil {
            // Receipts name no person.
        } else if let pointer = requiredString(root, "x-subject-field") {
            subjectPath = resolveBodyPointer(pointer, at: "/x-subject-field", fields: fields) ?? []
        }
        var requiredForForwarding: [[String]] = []
        if let list = root["x-required-for-forwarding"]?.arrayValue {
            for (position, entry) in list.enumerated() {
                guard let pointer = entry.stringValue else {
                    error("/x-required-for-forwarding/\(position)", "must be a JSON pointer string")
                    continue
                }
                if let path = resolveBodyPointer(pointer, at: "/x-required-for-forwarding/\(position)", fields: fields)
                {
                    requiredForForwarding.append(path)
                }
            }
        } else {
            error("/x-required-for-forwarding", "missing or not an array")
        }

        guard let schema, let ceType, let direction, let sourceTopic,
            !diagnostics.contains(where: { $0.severity == .error })
        else { return nil }
        return MessageContract(
            name: name, ceType: ceType, direction: direction, sourceTopic: sourceTopic,
            destinations: destinations, recipientRoles: recipientRoles, subjectPath: subjectPath,
            hasAnonymousForm: hasAnonymousForm, requiredForForwarding: requiredForForwarding,
            fields: fields, schema: schema)
    }

    /// `no.ips.<part>.<part>….v<N>`: lower-case dotted words ending in a version.
    static func isWellFormedCEType(_ ceType: String) -> Bool {
        let parts = ceType.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0] == "no", parts[1] == "ips", let version = parts.last,
            version.hasPrefix("v"), version.count > 1, version.dropFirst().allSatisfy(\.isASCIIDigit)
        else { return false }
        return parts.dropLast().allSatisfy { part in
            !part.isEmpty && part.allSatisfy { $0.isASCIIDigit || ("a"..."z").contains($0) || $0 == "-" }
        }
    }

    /// Checks where a message of `direction` may come from and go to, and returns its
    /// destinations (R9: each NAV role has a system of its own, and one system cannot speak for
    /// the other):
    /// - health→NAV comes from `health.ips.outbound` and names, in `x-destinations`, the inbound
    ///   topic of each recipient role's system, for exactly its `x-recipient-roles`;
    /// - NAV→health is sent by one role, from that role's system's outbound topic, to
    ///   `health.ips.inbound` (`x-destination-topic`);
    /// - NAV-internal comes from a NAV system's outbound topic and never crosses (R3);
    /// - consent records come from `health.consent` and are not forwarded.
    private mutating func checkRouting(
        _ direction: MessageDirection, source: String?, roles: [String], root: JSONObject
    ) -> [ContractDestination] {
        let navOutbound = Set(ContractVocabulary.navSystems.map(\.outboundTopic))
        func requireSource(_ expected: Set<String>) {
            if let source, !expected.contains(source) {
                error(
                    "/x-source-topic",
                    "\(direction.rawValue) messages are read from \(expected.sorted().joined(separator: " or "))")
            }
        }
        func forbid(_ keyword: String, _ message: String) {
            if root[keyword] != nil { error("/" + keyword, message) }
        }
        switch direction {
        case .healthToNav:
            requireSource([ContractVocabulary.Topic.healthOutbound])
            forbid("x-destination-topic", "health-to-nav messages name each role's topic in x-destinations")
            guard let map = root["x-destinations"]?.objectValue, map.count > 0 else {
                error("/x-destinations", "a health-to-nav message names the inbound topic of each recipient role")
                return []
            }
            var destinations: [ContractDestination] = []
            for member in map {
                let here = "/x-destinations/" + JSONPointer.escape(member.key)
                guard let system = ContractVocabulary.navSystem(ofRole: member.key) else {
                    error(here, "unknown recipient role")
                    continue
                }
                guard member.value.stringValue == system.inboundTopic else {
                    error(here, "\(system.role) receives on \(system.inboundTopic)")
                    continue
                }
                destinations.append(ContractDestination(role: system.role, topic: system.inboundTopic))
            }
            if Set(destinations.map(\.role)) != Set(roles) {
                error("/x-destinations", "must name a topic for exactly the roles in x-recipient-roles")
            }
            return destinations
        case .navToHealth:
            forbid("x-destinations", "nav-to-health messages go to the journal (x-destination-topic)")
            guard roles.count == 1, let system = ContractVocabulary.navSystem(ofRole: roles[0]) else {
                error("/x-recipient-roles", "a nav-to-health message is sent by exactly one role")
                return []
            }
            requireSource([system.outboundTopic])
            guard root["x-destination-topic"]?.stringValue == ContractVocabulary.Topic.healthInbound else {
                error("/x-destination-topic", "nav-to-health messages are forwarded to health.ips.inbound")
                return []
            }
            return [ContractDestination(role: system.role, topic: ContractVocabulary.Topic.healthInbound)]
        case .navInternal, .consent:
            requireSource(direction == .consent ? [ContractVocabulary.Topic.healthConsent] : navOutbound)
            // R3: NAV's own follow-up never crosses; consent records are not forwarded either.
            forbid("x-destination-topic", "\(direction.rawValue) messages must not have a destination")
            forbid("x-destinations", "\(direction.rawValue) messages must not have a destination")
            return []
        case .bridge:
            forbid("x-destination-topic", "the bridge's own messages name their topics in x-topics")
            forbid("x-destinations", "the bridge's own messages name their topics in x-topics")
            return []
        }
    }

    /// Walks `properties` (following `$ref` and `items`) and emits one rule per property.
    private mutating func collectFields(
        of schema: JSONValue, schemaPointer: [String], path: [String], into fields: inout [FieldRule],
        visiting: Set<String>
    ) {
        let (resolved, resolvedPointer, refChain) = resolveReferences(schema, at: schemaPointer)
        guard let object = resolved.objectValue else { return }
        if refChain.contains(where: visiting.contains) { return }  // recursive definitions: stop
        let visiting = visiting.union(refChain)
        if let items = object["items"] {
            collectFields(
                of: items, schemaPointer: resolvedPointer + ["items"], path: path, into: &fields, visiting: visiting)
        }
        guard let properties = object["properties"]?.objectValue else { return }
        for member in properties {
            let propertyPointer = resolvedPointer + ["properties", member.key]
            let propertyPath = path + [member.key]
            addRule(
                for: member.value, schemaPointer: propertyPointer, path: propertyPath, into: &fields, visiting: visiting
            )
        }
    }

    private var requiresCategories: Bool {
        document.objectValue?["x-direction"]?.stringValue != MessageDirection.bridge.rawValue
    }

    private mutating func addRule(
        for schema: JSONValue, schemaPointer: [String], path: [String], into fields: inout [FieldRule],
        visiting: Set<String>, inherited: FieldRule? = nil
    ) {
        let (resolved, resolvedPointer, _) = resolveReferences(schema, at: schemaPointer)
        let own = schema.objectValue
        let target = resolved.objectValue
        func annotation(_ key: String) -> JSONValue? { own?[key] ?? target?[key] }
        let pointer = JSONPointer.make(schemaPointer)

        var classification = inherited?.classification
        if let raw = annotation("x-classification") {
            if let text = raw.stringValue, let value = FieldClassification(rawValue: text) {
                classification = value
            } else {
                error(pointer + "/x-classification", "unknown classification")
            }
        } else if inherited == nil {
            error(pointer, "property has no x-classification")
        }
        var category = inherited?.consentCategory
        if let raw = annotation("x-consent-category") {
            if let text = raw.stringValue, ContractVocabulary.consentCategories.contains(text) {
                category = text
            } else {
                error(pointer + "/x-consent-category", "unknown consent category")
            }
        }
        var generalization = inherited?.generalization
        if let raw = annotation("x-anonymize") {
            if let text = raw.stringValue, ContractVocabulary.generalizations.contains(text) {
                generalization = text
                if text == "keep", classification != .workRelated, classification != .operational {
                    error(pointer + "/x-anonymize", "'keep' is only allowed on work-related or operational fields")
                }
                if text == "drop", classification != .operational {
                    error(
                        pointer + "/x-anonymize",
                        "'drop' is only for operational fields (the others are dropped anyway)")
                }
                if text != "keep", text != "drop", classification != .quasiIdentifier {
                    error(pointer + "/x-anonymize", "generalization is only for quasi-identifiers")
                }
            } else {
                error(pointer + "/x-anonymize", "unknown generalization")
            }
        }
        if requiresCategories, let classification, classification != .operational, classification != .navInternal,
            category == nil, annotation("x-consent-category") == nil
        {
            // Consent-governed content needs a category, or no consent could ever cover it.
            error(pointer, "\(classification.rawValue) property needs x-consent-category")
        }
        let isArray = target?["items"] != nil
        if !isArray, Self.declaresType("array", in: target) {
            // The filter walks an array through its `items`: without them it could only copy the
            // array whole, whatever it holds (or drop it), so every array says what it holds.
            error(pointer, "an array property declares its items")
        }
        let isObject = target?["properties"] != nil || isArray
        guard let classification else { return }
        let rule = FieldRule(
            path: path, classification: classification, consentCategory: category,
            generalization: generalization, isObject: isObject,
            acceptsAnyText: ["enum", "const", "pattern", "format"].allSatisfy { annotation($0) == nil })
        fields.append(rule)
        if isArray, let items = target?["items"] {
            addRule(
                for: items, schemaPointer: resolvedPointer + ["items"], path: path + ["[]"], into: &fields,
                visiting: visiting, inherited: rule)
        } else if target?["properties"] != nil {
            collectFields(of: resolved, schemaPointer: resolvedPointer, path: path, into: &fields, visiting: visiting)
        }
    }

    /// Whether `schema`'s `type` is `name` or a list holding it.
    private static func declaresType(_ name: String, in schema: JSONObject?) -> Bool {
        switch schema?["type"] {
        case .string(let type)?: type == name
        case .array(let types)?: types.contains { $0.stringValue == name }
        default: false
        }
    }

    /// Follows `$ref` chains to the schema that holds the structure.
    private mutating func resolveReferences(
        _ schema: JSONValue, at pointer: [String]
    ) -> (JSONValue, [String], [String]) {
        var current = schema
        var currentPointer = pointer
        var chain: [String] = []
        while let reference = current.objectValue?["$ref"]?.stringValue, reference.hasPrefix("#") {
            let target = String(reference.dropFirst())
            if chain.contains(target) { break }
            chain.append(target)
            guard let tokens = JSONPointer.tokens(target), let next = JSONPointer.resolve(target, in: document) else {
                break  // the schema compiler reports unresolvable references
            }
            current = next
            currentPointer = tokens
        }
        return (current, currentPointer, chain)
    }

    /// Turns a body pointer into a field path, checking it names a declared property.
    private mutating func resolveBodyPointer(_ pointer: String, at location: String, fields: [FieldRule]) -> [String]? {
        guard let tokens = JSONPointer.tokens(pointer), !tokens.isEmpty else {
            error(location, "not a JSON pointer to a property")
            return nil
        }
        guard fields.contains(where: { $0.path == tokens }) else {
            error(location, "points to no property of the schema")
            return nil
        }
        return tokens
    }

    private mutating func requiredString(_ root: JSONObject, _ key: String) -> String? {
        guard let value = root[key]?.stringValue, !value.isEmpty else {
            error("/" + key, "missing or not a string")
            return nil
        }
        return value
    }

    private mutating func error(_ pointer: String, _ message: String) {
        diagnostics.append(ContractDiagnostic(.error, file: file, pointer: pointer, message: message))
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
