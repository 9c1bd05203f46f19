/// The engine of the dev command `contracts validate --stdin-jsonl`: one verdict per input line.
///
/// Used by the Python cross-check (Tests/python/test_contracts_crosscheck.py) so that one
/// process validates thousands of cases. Verdict lines are JSON:
/// `{"valid":true}` or `{"valid":false,"parse":"json.duplicate-key"}` or
/// `{"valid":false,"violations":[{"pointer":"/a","keyword":"required"}]}`.
package struct ContractValidationTool: Sendable {
    private let schema: JSONSchema

    /// A tool validating against `schema`.
    package init(schema: JSONSchema) { self.schema = schema }

    /// Loads and compiles the schema file at `path`.
    package static func load(schemaPath path: String) throws -> ContractValidationTool {
        guard let bytes = ContractFiles.read(path) else {
            throw ContractLoadError(diagnostics: [
                ContractDiagnostic(file: path, pointer: "", message: "cannot read the file")
            ])
        }
        do {
            let document = try StrictJSON.parse(bytes, limits: JSONParseLimits(maxDepth: 64, maxBytes: 4 << 20))
            return ContractValidationTool(schema: try JSONSchema(compiling: document))
        } catch let error as SchemaCompileError {
            throw ContractLoadError(diagnostics: [
                ContractDiagnostic(file: path, pointer: error.pointer, message: error.message)
            ])
        } catch {
            throw ContractLoadError(diagnostics: [ContractDiagnostic(file: path, pointer: "", message: "\(error)")])
        }
    }

    /// The verdict line (without newline) for one instance line.
    package func verdict(for line: some Collection<UInt8>) -> String {
        let value: JSONValue
        do {
            value = try StrictJSON.parse(line)
        } catch {
            return #"{"valid":false,"parse":"\#(error.code.rawValue)"}"#
        }
        let violations = schema.validate(value)
        if violations.isEmpty { return #"{"valid":true}"# }
        let list: [JSONValue] = violations.map { violation in
            .object(
                JSONObject(uniqueMembers: [
                    .init(key: "pointer", value: .string(violation.pointer)),
                    .init(key: "keyword", value: .string(violation.keyword)),
                ]))
        }
        let result = JSONValue.object(
            JSONObject(uniqueMembers: [
                .init(key: "valid", value: .bool(false)), .init(key: "violations", value: .array(list)),
            ]))
        return String(decoding: result.serializedBytes(), as: UTF8.self)
    }
}
