/// Derives the published schema of a contract's anonymous form (R2) from the contract itself.
///
/// The anonymous form is what the policy's field filter builds when consent does not cover an
/// event: operational fields kept (but where `x-anonymize: drop`), work-related fields kept
/// where `x-anonymize: keep`,
/// quasi-identifiers generalized by their `x-anonymize` rule, everything else removed, and a
/// bridge-minted `caseReference` added. Deriving its schema from the same annotations the
/// filter reads keeps the two from drifting apart; `Contracts/schemas/*.anonymous.schema.json`
/// are this function's output, committed for integrators, and a test holds them equal.
///
/// The result is a bridge contract (`x-direction: bridge`): the bridge writes it, no sender may.
package enum AnonymousFormSchema {
    /// File stem of the anonymous form of the contract named `name`.
    package static func name(of name: String) -> String { name + ".anonymous" }

    /// `ce_type` of the anonymous form: the base type with `.anonymous` before the version,
    /// e.g. `no.ips.health.case-discussion.v1` → `no.ips.health.case-discussion.anonymous.v1`.
    package static func ceType(of ceType: String) -> String {
        guard let dot = ceType.lastIndex(of: ".") else { return ceType + ".anonymous" }
        return ceType[..<dot] + ".anonymous" + ceType[dot...]
    }

    /// The pattern a generalized value has (what `Generalization.apply` in the policy yields).
    package static func generalizedPattern(_ rule: String) -> String? {
        switch rule {
        case "age-band-10y": "^[0-9]{1,3}-[0-9]{1,3}$"
        case "county": "^[0-9]{2}$"
        case "month": "^[0-9]{4}-(0[1-9]|1[0-2])$"
        default: nil
        }
    }

    /// Whether a rule turns every schema-valid input into a value (an age band can fail: a
    /// birth date after the event, or an age over 130; the field is then left out).
    static func isTotal(_ rule: String) -> Bool { rule == "county" || rule == "month" }

    /// The one topic the base contract forwards to (its single `x-destinations` entry, or
    /// `x-destination-topic`).
    private static func destination(of root: JSONObject) -> String? {
        if let map = root["x-destinations"]?.objectValue {
            return map.count == 1 ? map.members.first?.value.stringValue : nil
        }
        return root["x-destination-topic"]?.stringValue
    }

    /// The anonymous form's schema document for the contract document `base` (stem `name`).
    /// Nil when the contract has no anonymous form or the document is not an object.
    package static func derive(from base: JSONValue, name: String) -> JSONValue? {
        guard let root = base.objectValue, root["x-anonymous-form"]?.boolValue == true,
            let ceType = root["x-ce-type"]?.stringValue, let destination = Self.destination(of: root),
            let derivedBody = Deriver(definitions: root["$defs"]?.objectValue).deriveObject(root)
        else { return nil }
        var properties = derivedBody.properties
        var required = derivedBody.required
        properties.append(
            .init(
                key: "caseReference",
                value: .object(
                    JSONObject(uniqueMembers: [
                        .init(
                            key: "description",
                            value: .string(
                                "Bridge-minted reference standing for the person; only the sending side can map it back."
                            )),
                        .init(key: "type", value: .string("string")),
                        .init(key: "pattern", value: .string("^case-[0-9a-f]{32}$")),
                        .init(key: "x-classification", value: .string("operational")),
                    ]))))
        required.append("caseReference")
        let title = root["title"]?.stringValue.map { $0 + ", anonymous form" } ?? name + " (anonymous form)"
        let members: [JSONObject.Member] = [
            .init(key: "$schema", value: .string("https://json-schema.org/draft/2020-12/schema")),
            .init(
                key: "$id",
                value: .string("https://contracts.consentbridge.no/schemas/\(Self.name(of: name)).schema.json")),
            .init(key: "title", value: .string(title)),
            .init(
                key: "description",
                value: .string(
                    "Generated from \(name).schema.json by AnonymousFormSchema (do not edit by hand). What the bridge forwards "
                        + "instead of \(ceType) when consent does not cover it (R2): identifiers, health information and free "
                        + "text removed, quasi-identifiers generalized, a case reference in place of the person.")),
            .init(key: "x-ce-type", value: .string(Self.ceType(of: ceType))),
            .init(key: "x-direction", value: .string(MessageDirection.bridge.rawValue)),
            .init(key: "x-topics", value: .array([.string(destination)])),
            .init(key: "x-recipient-roles", value: root["x-recipient-roles"] ?? .array([])),
            .init(key: "x-anonymous-form", value: .bool(false)),
            .init(key: "x-required-for-forwarding", value: .array([])),
            .init(key: "type", value: .string("object")),
            .init(key: "additionalProperties", value: .bool(false)),
            .init(key: "required", value: .array(required.map { .string($0) })),
            .init(key: "properties", value: .object(JSONObject(uniqueMembers: properties))),
        ]
        return .object(JSONObject(uniqueMembers: members))
    }

    // MARK: Derivation (mirrors the policy's anonymous-mode field filter)

    private struct DerivedObject {
        var properties: [JSONObject.Member]
        var required: [String]
    }

    /// Walks a contract's schema; `$ref`s into `$defs` are inlined, so the derived schema
    /// stands on its own and a referenced object is filtered like any other.
    private struct Deriver {
        let definitions: JSONObject?

        /// What of `node` (an object schema) survives, or nil when none of its properties does.
        func deriveObject(_ node: JSONObject) -> DerivedObject? {
            guard let properties = node["properties"]?.objectValue else { return nil }
            let baseRequired = Set(node["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            var kept: [JSONObject.Member] = []
            var required: [String] = []
            for member in properties {
                guard let child = member.value.objectValue,
                    let (derived, alwaysPresent) = deriveProperty(resolved(child))
                else { continue }
                kept.append(.init(key: member.key, value: derived))
                if alwaysPresent, baseRequired.contains(member.key) { required.append(member.key) }
            }
            return kept.isEmpty ? nil : DerivedObject(properties: kept, required: required)
        }

        /// `node` with a local `$ref` replaced by its target (the node's own keywords win, as
        /// the contract builder reads annotations).
        private func resolved(_ node: JSONObject) -> JSONObject {
            guard let reference = node["$ref"]?.stringValue, reference.hasPrefix("#/$defs/"),
                let target = definitions?[String(reference.dropFirst("#/$defs/".count))]?.objectValue
            else { return node }
            var merged = target
            for member in node where member.key != "$ref" { merged[member.key] = member.value }
            return merged
        }

        /// The derived schema of one property and whether a schema-valid input always yields it.
        private func deriveProperty(_ node: JSONObject) -> (JSONValue, Bool)? {
            let classification = node["x-classification"]?.stringValue ?? ""
            let rule = node["x-anonymize"]?.stringValue
            switch classification {
            case FieldClassification.operational.rawValue where rule != "drop":
                return deriveContainer(node)
            case FieldClassification.workRelated.rawValue where rule == "keep":
                return deriveContainer(node)
            case FieldClassification.quasiIdentifier.rawValue:
                guard let rule, let pattern = generalizedPattern(rule) else { return nil }
                var members: [JSONObject.Member] = []
                if let description = node["description"] {
                    members.append(.init(key: "description", value: description))
                }
                members += [
                    .init(key: "type", value: .string("string")),
                    .init(key: "pattern", value: .string(pattern)),
                    .init(key: "x-classification", value: .string(classification)),
                ]
                if let category = node["x-consent-category"] {
                    members.append(.init(key: "x-consent-category", value: category))
                }
                members.append(.init(key: "x-anonymize", value: .string(rule)))
                return (.object(JSONObject(uniqueMembers: members)), isTotal(rule))
            default:
                return nil  // direct identifiers, health information, free text, NAV-internal: removed
            }
        }

        /// A kept property: scalars as they are; objects and arrays with what survives inside.
        private func deriveContainer(_ node: JSONObject) -> (JSONValue, Bool)? {
            if node["properties"] != nil {
                guard let inner = deriveObject(node) else { return nil }
                var copy = node
                copy["properties"] = .object(JSONObject(uniqueMembers: inner.properties))
                copy["required"] = inner.required.isEmpty ? nil : .array(inner.required.map { .string($0) })
                // An object whose kept members are all optional may be left out when none is present.
                return (.object(copy), !inner.required.isEmpty)
            }
            if var items = node["items"]?.objectValue.map(resolved) {
                // Items without annotations of their own are governed by the array's (as in the filter).
                for key in ["x-classification", "x-consent-category", "x-anonymize"] where items[key] == nil {
                    items[key] = node[key]
                }
                guard let (derivedItems, _) = deriveProperty(items) else { return nil }
                var copy = node
                copy["items"] = derivedItems
                return (.object(copy), true)
            }
            return (.object(node), true)
        }
    }
}
