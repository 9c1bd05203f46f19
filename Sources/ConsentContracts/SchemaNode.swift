/// One compiled subschema: every keyword pre-decoded so validation does no schema lookups.
///
/// A class so subschemas share storage; immutable once built (`$ref` cycles go through
/// indices into `JSONSchema.definitions`, never through object references).
final class SchemaNode: Sendable {
    /// JSON types a `type` keyword allows.
    struct TypeSet: OptionSet, Sendable {
        let rawValue: UInt8
        static let null = TypeSet(rawValue: 1)
        static let boolean = TypeSet(rawValue: 2)
        static let integer = TypeSet(rawValue: 4)
        static let number = TypeSet(rawValue: 8)
        static let string = TypeSet(rawValue: 16)
        static let array = TypeSet(rawValue: 32)
        static let object = TypeSet(rawValue: 64)
    }

    enum AdditionalProperties: Sendable {
        case allowed
        case forbidden
        case schema(SchemaNode)
    }

    enum Format: String, Sendable {
        case date
        case dateTime = "date-time"
    }

    /// A numeric bound, kept exact when it is an integer.
    enum Bound: Sendable {
        case integer(Int64)
        case number(Double)
    }

    /// The decoded keywords of one subschema.
    struct Keywords: Sendable {
        /// `true` / `false` boolean schema; nil for object schemas.
        var alwaysValid: Bool? = nil
        var types: TypeSet = []
        var typeNames: String = ""
        /// `properties` in schema order; small objects are searched linearly (cheaper than hashing).
        var propertyList: [(name: String, schema: SchemaNode)] = []
        var properties: [String: SchemaNode] = [:] {
            didSet { propertyList = properties.map { ($0.key, $0.value) }.sorted { $0.name < $1.name } }
        }
        var additionalProperties: AdditionalProperties = .allowed
        var required: [String] = []
        var enumValues: [JSONValue]? = nil
        var constValue: JSONValue? = nil
        var pattern: SchemaRegex? = nil
        var format: Format? = nil
        var minLength: Int? = nil
        var maxLength: Int? = nil
        var minimum: Bound? = nil
        var maximum: Bound? = nil
        var exclusiveMinimum: Bound? = nil
        var exclusiveMaximum: Bound? = nil
        var items: SchemaNode? = nil
        var minItems: Int? = nil
        var maxItems: Int? = nil
        var uniqueItems = false
        /// Index into `JSONSchema.definitions` for `$ref`.
        var reference: Int? = nil
    }

    let keywords: Keywords

    /// The position in `keywords.propertyList` of property `name`, if `properties` declares it.
    @inline(__always)
    func propertyIndex(_ name: String) -> Int? {
        if keywords.propertyList.count <= 16 {
            for index in keywords.propertyList.indices where keywords.propertyList[index].name == name { return index }
            return nil
        }
        return propertyIndices[name]
    }

    /// The bits of the `propertyList` positions `required` names, when every required name is
    /// a declared property among the first 64 (else nil: `required` is checked by name). The
    /// validator then sees from the members it visits anyway whether all are there, instead of
    /// searching the object for each required name.
    let requiredMask: UInt64?
    /// `propertyList` positions by name, for objects with more than 16 properties.
    private let propertyIndices: [String: Int]

    init(_ keywords: Keywords) {
        self.keywords = keywords
        var indices: [String: Int] = [:]
        for (index, entry) in keywords.propertyList.enumerated() { indices[entry.name] = index }
        self.propertyIndices = keywords.propertyList.count > 16 ? indices : [:]
        var mask: UInt64? = 0
        for name in keywords.required {
            guard let index = indices[name], index < 64 else {
                mask = nil
                break
            }
            mask? |= 1 << UInt64(index)
        }
        self.requiredMask = mask
    }
}
