/// Walks an instance against compiled nodes and collects every violation with its pointer.
struct SchemaValidator {
    private enum PathElement {
        case key(String)
        case index(Int)
    }

    private let definitions: [SchemaNode]
    private let stopAtFirst: Bool
    private var path: [PathElement] = []
    private(set) var violations: [SchemaViolation] = []

    /// With `stopAtFirst` only validity is wanted (`JSONSchema.isValid`, run on every record the
    /// bridge emits): the walk ends at the first violation and keeps no path, so that violation's
    /// pointer is empty. Tracking the path cost a retained key per visited member.
    init(definitions: [SchemaNode], stopAtFirst: Bool = false) {
        self.definitions = definitions
        self.stopAtFirst = stopAtFirst
    }

    mutating func validate(_ value: JSONValue, against node: SchemaNode) {
        if stopAtFirst, !violations.isEmpty { return }
        if let alwaysValid = node.keywords.alwaysValid {
            if !alwaysValid { report("false", "no value is allowed here") }
            return
        }
        if let reference = node.keywords.reference, reference < definitions.count {
            validate(value, against: definitions[reference])
        }
        if !node.keywords.types.isEmpty, !Self.matches(value, node.keywords.types) {
            report("type", "expected \(node.keywords.typeNames)")
        }
        if let constValue = node.keywords.constValue, !JSONEquality.equal(value, constValue) {
            report("const", "value differs from the required constant")
        }
        if let enumValues = node.keywords.enumValues, !enumValues.contains(where: { JSONEquality.equal(value, $0) }) {
            report("enum", "value is not one of the \(enumValues.count) allowed values")
        }
        switch value {
        case .string(let string): validateString(string, node)
        case .integer, .number: validateNumber(value, node)
        case .array(let items): validateArray(items, node)
        case .object(let object): validateObject(object, node)
        case .null, .bool: break
        }
    }

    // MARK: Per type

    private mutating func validateString(_ string: String, _ node: SchemaNode) {
        if node.keywords.minLength != nil || node.keywords.maxLength != nil {
            // JSON Schema counts Unicode code points, not UTF-16 units or grapheme clusters.
            // A code point is 1–4 UTF-8 bytes: count them only when the byte count is inconclusive.
            let byteCount = string.utf8.count
            let isWithinMax = node.keywords.maxLength.map { byteCount <= $0 } ?? true
            let isWithinMin = node.keywords.minLength.map { (byteCount + 3) / 4 >= $0 } ?? true
            let length = isWithinMax && isWithinMin ? -1 : string.unicodeScalars.count
            if length >= 0, let minLength = node.keywords.minLength, length < minLength {
                report("minLength", "shorter than \(minLength) characters")
            }
            if length >= 0, let maxLength = node.keywords.maxLength, length > maxLength {
                report("maxLength", "longer than \(maxLength) characters")
            }
        }
        if let pattern = node.keywords.pattern, !pattern.search(string) {
            report("pattern", "does not match the pattern \(pattern.source)")
        }
        if let format = node.keywords.format {
            let isValid: Bool
            switch format {
            case .date: isValid = RFC3339.isValidDate(string)
            case .dateTime: isValid = RFC3339.isValidDateTime(string)
            }
            if !isValid { report("format", "not a valid RFC 3339 \(format.rawValue)") }
        }
    }

    private mutating func validateNumber(_ value: JSONValue, _ node: SchemaNode) {
        if let bound = node.keywords.minimum, Self.compare(value, bound) < 0 {
            report("minimum", "below the minimum \(Self.text(bound))")
        }
        if let bound = node.keywords.maximum, Self.compare(value, bound) > 0 {
            report("maximum", "above the maximum \(Self.text(bound))")
        }
        if let bound = node.keywords.exclusiveMinimum, Self.compare(value, bound) <= 0 {
            report("exclusiveMinimum", "not above \(Self.text(bound))")
        }
        if let bound = node.keywords.exclusiveMaximum, Self.compare(value, bound) >= 0 {
            report("exclusiveMaximum", "not below \(Self.text(bound))")
        }
    }

    private mutating func validateArray(_ items: [JSONValue], _ node: SchemaNode) {
        if let minItems = node.keywords.minItems, items.count < minItems {
            report("minItems", "fewer than \(minItems) items")
        }
        if let maxItems = node.keywords.maxItems, items.count > maxItems {
            report("maxItems", "more than \(maxItems) items")
        }
        if node.keywords.uniqueItems, items.count > 1 {
            outer: for first in 0..<(items.count - 1) {
                for second in (first + 1)..<items.count where JSONEquality.equal(items[first], items[second]) {
                    report("uniqueItems", "items \(first) and \(second) are equal")
                    break outer
                }
            }
        }
        if let itemSchema = node.keywords.items {
            for (position, item) in items.enumerated() {
                validate(item, against: itemSchema, at: .index(position))
            }
        }
    }

    private mutating func validateObject(_ object: JSONObject, _ node: SchemaNode) {
        let requiredMask = node.requiredMask
        if requiredMask == nil { reportMissingRequired(object, node) }
        let firstOfObject = violations.count
        var present: UInt64 = 0
        for member in object {
            if let index = node.propertyIndex(member.key) {
                if index < 64 { present |= 1 << UInt64(index) }
                validate(member.value, against: node.keywords.propertyList[index].schema, at: .key(member.key))
                continue
            }
            switch node.keywords.additionalProperties {
            case .allowed:
                break
            case .forbidden:
                // The key comes from the instance: name it only when it cannot be personal data.
                if Self.isSafeToShow(member.key) {
                    path.append(.key(member.key))
                    report("additionalProperties", "property not allowed by the contract")
                    path.removeLast()
                } else {
                    report("additionalProperties", "a property not allowed by the contract (name withheld)")
                }
            case .schema(let schema):
                validate(
                    member.value, against: schema, at: .key(Self.isSafeToShow(member.key) ? member.key : "~withheld"))
            }
        }
        if let requiredMask, present & requiredMask != requiredMask {
            // Reported before the members' violations, as when `required` is checked by name.
            let membersViolations = violations[firstOfObject...]
            violations.removeSubrange(firstOfObject...)
            reportMissingRequired(object, node)
            violations += membersViolations
        }
    }

    private mutating func reportMissingRequired(_ object: JSONObject, _ node: SchemaNode) {
        for name in node.keywords.required where object[name] == nil {
            report("required", "missing required property '\(name)'")
        }
    }

    // MARK: Helpers

    /// Validates a member or item, with its place on the path when violations are collected.
    private mutating func validate(
        _ value: JSONValue, against node: SchemaNode, at element: @autoclosure () -> PathElement
    ) {
        if stopAtFirst { return validate(value, against: node) }
        path.append(element())
        validate(value, against: node)
        path.removeLast()
    }

    private mutating func report(_ keyword: String, _ message: String) {
        if stopAtFirst, !violations.isEmpty { return }
        var pointer = ""
        for element in path {
            pointer += "/"
            switch element {
            case .key(let key): pointer += JSONPointer.escape(key)
            case .index(let position): pointer += String(position)
            }
        }
        violations.append(SchemaViolation(pointer: pointer, keyword: keyword, message: message))
    }

    /// Short identifier-like keys without long digit runs (a key could be a fødselsnummer).
    static func isSafeToShow(_ key: String) -> Bool {
        guard !key.isEmpty, key.utf8.count <= 64 else { return false }
        var digitRun = 0
        for byte in key.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digitRun += 1
                if digitRun >= 5 { return false }
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "$"):
                digitRun = 0
            default:
                return false
            }
        }
        return true
    }

    private static func matches(_ value: JSONValue, _ types: SchemaNode.TypeSet) -> Bool {
        switch value {
        case .null: return types.contains(.null)
        case .bool: return types.contains(.boolean)
        case .integer: return types.contains(.integer) || types.contains(.number)
        case .number(let number):
            // 2020-12: a number with a zero fractional part is an integer.
            return types.contains(.number) || (types.contains(.integer) && number.rounded(.towardZero) == number)
        case .string: return types.contains(.string)
        case .array: return types.contains(.array)
        case .object: return types.contains(.object)
        }
    }

    /// -1, 0, 1 comparing a numeric instance with a bound (exact for two integers).
    private static func compare(_ value: JSONValue, _ bound: SchemaNode.Bound) -> Int {
        switch (value, bound) {
        case (.integer(let left), .integer(let right)):
            return left < right ? -1 : (left > right ? 1 : 0)
        default:
            let left: Double
            switch value {
            case .integer(let number): left = Double(number)
            case .number(let number): left = number
            default: return 0
            }
            let right: Double
            switch bound {
            case .integer(let number): right = Double(number)
            case .number(let number): right = number
            }
            return left < right ? -1 : (left > right ? 1 : 0)
        }
    }

    private static func text(_ bound: SchemaNode.Bound) -> String {
        switch bound {
        case .integer(let number): return String(number)
        case .number(let number): return String(number)
        }
    }
}
