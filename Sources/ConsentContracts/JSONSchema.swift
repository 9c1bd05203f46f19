/// A compiled JSON Schema (2020-12 subset the contracts use), ready to validate many instances.
///
/// Compile once per schema with `JSONSchema(compiling:)`; `validate` reports every violation.
package struct JSONSchema: Sendable {
    let root: SchemaNode
    let definitions: [SchemaNode]

    /// Compiles `document` (a schema object). Unknown keywords, bad `$ref`s and bad patterns
    /// are load-time errors so no constraint is silently ignored.
    package init(compiling document: JSONValue) throws(SchemaCompileError) {
        var compiler = SchemaCompiler(document: document)
        root = try compiler.compileRoot()
        definitions = compiler.finishedDefinitions()
    }

    /// Every violation of `value` against this schema, in document order; empty = valid.
    package func validate(_ value: JSONValue) -> [SchemaViolation] {
        var validator = SchemaValidator(definitions: definitions)
        validator.validate(value, against: root)
        return validator.violations
    }

    /// True when `value` satisfies the schema (stops at the first violation).
    package func isValid(_ value: JSONValue) -> Bool {
        var validator = SchemaValidator(definitions: definitions, stopAtFirst: true)
        validator.validate(value, against: root)
        return validator.violations.isEmpty
    }
}
