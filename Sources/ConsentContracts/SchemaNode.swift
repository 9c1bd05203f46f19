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

    /// The subschema for property `name`, if `properties` declares it.
    @inline(__always)
    func propertySchema(_ name: String) -> SchemaNode? {
        if keywords.propertyList.count <= 16 {
            for entry in keywords.propertyList where entry.name == name { return entry.schema }
            return nil
        }
        return keywords.properties[name]
    }

    init(_ keywords: Keywords) { self.keywords = keywords }
}
