/// Turns a schema document into `SchemaNode`s, rejecting anything it would not enforce.
struct SchemaCompiler {
    /// Keywords that only annotate; they never constrain an instance.
    static let annotationKeywords: Set<String> = [
        "$schema", "$id", "$comment", "title", "description", "examples", "default",
        "deprecated", "readOnly", "writeOnly", "$anchor",
    ]

    private let document: JSONValue
    private var indexByPointer: [String: Int] = [:]
    private var slots: [SchemaNode?] = []

    init(document: JSONValue) { self.document = document }

    mutating func compileRoot() throws(SchemaCompileError) -> SchemaNode {
        try compile(document, at: [])
    }

    func finishedDefinitions() -> [SchemaNode] {
        // Every slot is filled before `compile` returns; an empty one would be a compiler bug,
        // so it becomes a schema that accepts nothing (fail closed).
        slots.map { $0 ?? SchemaNode(SchemaNode.Keywords(alwaysValid: false)) }
    }

    private mutating func compile(_ value: JSONValue, at path: [String]) throws(SchemaCompileError) -> SchemaNode {
        var keywords = SchemaNode.Keywords()
        switch value {
        case .bool(let flag):
            keywords.alwaysValid = flag
            return SchemaNode(keywords)
        case .object(let object):
            for member in object {
                try apply(member.key, member.value, to: &keywords, path: path)
            }
            return SchemaNode(keywords)
        default:
            throw error(path, "a schema must be an object or a boolean")
        }
    }

    private mutating func apply(
        _ keyword: String, _ value: JSONValue, to keywords: inout SchemaNode.Keywords, path: [String]
    ) throws(SchemaCompileError) {
        let here = path + [keyword]
        if keyword.hasPrefix("x-") || Self.annotationKeywords.contains(keyword) { return }
        switch keyword {
        case "type":
            let names: [JSONValue]
            if case .array(let list) = value { names = list } else { names = [value] }
            guard !names.isEmpty else { throw error(here, "type must not be empty") }
            var spelled: [String] = []
            for name in names {
                guard let name = name.stringValue else { throw error(here, "type names must be strings") }
                switch name {
                case "null": keywords.types.insert(.null)
                case "boolean": keywords.types.insert(.boolean)
                case "integer": keywords.types.insert(.integer)
                case "number": keywords.types.insert(.number)
                case "string": keywords.types.insert(.string)
                case "array": keywords.types.insert(.array)
                case "object": keywords.types.insert(.object)
                default: throw error(here, "unknown type '\(name)'")
                }
                spelled.append(name)
            }
            keywords.typeNames = spelled.joined(separator: " or ")
        case "properties":
            guard let object = value.objectValue else { throw error(here, "properties must be an object") }
            for member in object {
                keywords.properties[member.key] = try compile(member.value, at: here + [member.key])
            }
        case "additionalProperties":
            switch value {
            case .bool(true): keywords.additionalProperties = .allowed
            case .bool(false): keywords.additionalProperties = .forbidden
            default: keywords.additionalProperties = .schema(try compile(value, at: here))
            }
        case "required":
            guard let list = value.arrayValue else { throw error(here, "required must be an array") }
            var names: [String] = []
            for item in list {
                guard let name = item.stringValue else { throw error(here, "required entries must be strings") }
                names.append(name)
            }
            keywords.required = names
        case "enum":
            guard let list = value.arrayValue else { throw error(here, "enum must be an array") }
            keywords.enumValues = list
        case "const":
            keywords.constValue = value
        case "pattern":
            guard let source = value.stringValue else { throw error(here, "pattern must be a string") }
            do throws(SchemaRegex.SyntaxError) {
                keywords.pattern = try SchemaRegex(source)
            } catch {
                throw self.error(here, "unsupported or invalid pattern: \(error.message)")
            }
        case "format":
            guard let name = value.stringValue, let format = SchemaNode.Format(rawValue: name) else {
                throw error(here, "only formats 'date' and 'date-time' are supported")
            }
            keywords.format = format
        case "minLength": keywords.minLength = try count(value, here)
        case "maxLength": keywords.maxLength = try count(value, here)
        case "minItems": keywords.minItems = try count(value, here)
        case "maxItems": keywords.maxItems = try count(value, here)
        case "minimum": keywords.minimum = try bound(value, here)
        case "maximum": keywords.maximum = try bound(value, here)
        case "exclusiveMinimum": keywords.exclusiveMinimum = try bound(value, here)
        case "exclusiveMaximum": keywords.exclusiveMaximum = try bound(value, here)
        case "uniqueItems":
            guard let flag = value.boolValue else { throw error(here, "uniqueItems must be a boolean") }
            keywords.uniqueItems = flag
        case "items":
            keywords.items = try compile(value, at: here)
        case "$ref":
            guard let reference = value.stringValue, reference.hasPrefix("#") else {
                throw error(here, "only local references ('#/...') are supported")
            }
            keywords.reference = try definitionIndex(String(reference.dropFirst()), from: here)
        case "$defs":
            guard let object = value.objectValue else { throw error(here, "$defs must be an object") }
            // Compile every definition, used or not, so a typo in one is still a load error.
            for member in object {
                _ = try definitionIndex(JSONPointer.make(here + [member.key]), from: here)
            }
        default:
            throw error(here, "unsupported keyword '\(keyword)' (it would be silently ignored)")
        }
    }

    private mutating func definitionIndex(_ pointer: String, from path: [String]) throws(SchemaCompileError) -> Int {
        if let index = indexByPointer[pointer] { return index }
        guard let tokens = JSONPointer.tokens(pointer), let target = JSONPointer.resolve(pointer, in: document) else {
            throw error(path, "reference '#\(pointer)' does not resolve")
        }
        let index = slots.count
        slots.append(nil)
        indexByPointer[pointer] = index
        slots[index] = try compile(target, at: tokens)
        return index
    }

    private func count(_ value: JSONValue, _ path: [String]) throws(SchemaCompileError) -> Int {
        guard let number = value.integerValue, number >= 0, let result = Int(exactly: number) else {
            throw error(path, "must be a non-negative integer")
        }
        return result
    }

    private func bound(_ value: JSONValue, _ path: [String]) throws(SchemaCompileError) -> SchemaNode.Bound {
        switch value {
        case .integer(let number): return .integer(number)
        case .number(let number): return .number(number)
        default: throw error(path, "must be a number")
        }
    }

    private func error(_ path: [String], _ message: String) -> SchemaCompileError {
        SchemaCompileError(pointer: JSONPointer.make(path), message: message)
    }
}
