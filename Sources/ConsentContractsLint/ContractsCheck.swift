package import ConsentContracts

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `consent-bridge contracts check`: lint schemas, examples and `asyncapi.yaml` together.
package enum ContractsCheck {
    /// Lints the contracts directory and returns every diagnostic.
    package static func run(directory: String) -> ContractLintReport {
        var asyncAPI: JSONValue? = nil
        var extra: [ContractDiagnostic] = []
        if let bytes = ContractFiles.read(directory + "/asyncapi.yaml") {
            do throws(YAMLDocument.LoadError) {
                asyncAPI = try YAMLDocument.parse(String(decoding: bytes, as: UTF8.self))
            } catch {
                extra.append(ContractDiagnostic(file: "asyncapi.yaml", pointer: "", message: error.message))
            }
        } else {
            extra.append(ContractDiagnostic(file: "asyncapi.yaml", pointer: "", message: "missing or unreadable"))
        }
        var report = ContractLinter.lint(directory: directory, asyncAPI: asyncAPI)
        report.diagnostics += extra
        return report
    }
}
