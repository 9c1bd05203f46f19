#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Checks the whole `Contracts/` directory and collects every problem instead of stopping.
///
/// Schemas (classifications, categories, pointers, metadata), examples (each `valid` one passes,
/// each `invalid` one fails) and the AsyncAPI document (consistent with the schemas). The
/// AsyncAPI document arrives as a `JSONValue` so this module stays free of a YAML dependency.
package enum ContractLinter {
    /// Lints `directory`; `asyncAPI` is the parsed `asyncapi.yaml` (nil = could not be read,
    /// which the caller reports as a diagnostic of its own).
    package static func lint(directory: String, asyncAPI: JSONValue?) -> ContractLintReport {
        var report = ContractLintReport()
        let (catalog, diagnostics) = ContractCatalog.loadCollecting(directory: directory)
        report.diagnostics += diagnostics
        let contracts = catalog?.contracts ?? []
        report.schemaCount =
            (try? FileManager.default.contentsOfDirectory(atPath: directory + "/schemas"))?
            .filter { $0.hasSuffix(".schema.json") }.count ?? 0
        report.catalogVersion = catalog?.version
        lintExamples(directory: directory, contracts: contracts, report: &report)
        if let asyncAPI {
            var checker = AsyncAPIConsistency(document: asyncAPI, contracts: contracts, directory: directory)
            checker.check()
            report.diagnostics += checker.diagnostics
            report.channelCount = checker.channelCount
        }
        return report
    }

    private static func listJSON(_ path: String) -> [String]? {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return nil }
        return names.filter { $0.hasSuffix(".json") }.sorted()
    }

    private static func lintExamples(directory: String, contracts: [MessageContract], report: inout ContractLintReport)
    {
        let examplesDirectory = directory + "/examples"
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: examplesDirectory))?.sorted() ?? []
        let byName = Dictionary(contracts.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for folder in folders where byName[folder] == nil {
            if (try? FileManager.default.contentsOfDirectory(atPath: examplesDirectory + "/" + folder)) != nil {
                report.diagnostics.append(
                    ContractDiagnostic(
                        file: "examples/" + folder, pointer: "",
                        message: "examples for an unknown or unloadable contract"))
            }
        }
        for contract in contracts {
            for expectsValid in [true, false] {
                let kind = expectsValid ? "valid" : "invalid"
                let relative = "examples/\(contract.name)/\(kind)"
                guard let files = listJSON(directory + "/" + relative), !files.isEmpty else {
                    report.diagnostics.append(
                        ContractDiagnostic(
                            expectsValid ? .error : .warning, file: relative, pointer: "",
                            message: "no \(kind) examples for this contract"))
                    continue
                }
                for file in files {
                    report.exampleCount += 1
                    let path = relative + "/" + file
                    guard let bytes = FileManager.default.contents(atPath: directory + "/" + path) else {
                        report.diagnostics.append(
                            ContractDiagnostic(file: path, pointer: "", message: "cannot read the file"))
                        continue
                    }
                    let value: JSONValue
                    do {
                        value = try StrictJSON.parse(bytes)
                    } catch {
                        report.diagnostics.append(
                            ContractDiagnostic(
                                file: path, pointer: "",
                                message:
                                    "not strict JSON (\(error)); parse failures belong in tests, examples must be schema cases"
                            ))
                        continue
                    }
                    let violations = contract.schema.validate(value)
                    if expectsValid {
                        for violation in violations {
                            report.diagnostics.append(
                                ContractDiagnostic(
                                    file: path, pointer: violation.pointer,
                                    message: "valid example fails \(violation.keyword): \(violation.message)"))
                        }
                    } else if violations.isEmpty {
                        report.diagnostics.append(
                            ContractDiagnostic(file: path, pointer: "", message: "invalid example passes the schema"))
                    }
                }
            }
        }
    }
}
