import ArgumentParser
import ConsentContracts
import ConsentContractsLint
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `consent-bridge contracts …`: checks on the message contracts in `Contracts/`.
struct ContractsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contracts",
        abstract: "Lint and use the message contracts (schemas, examples, asyncapi.yaml).",
        subcommands: [
            ContractsCheckCommand.self, ContractsAnonymousFormsCommand.self, ContractsSwiftTypesCommand.self,
            ContractsValidateCommand.self,
        ]
    )
}

/// `consent-bridge contracts check [--dir Contracts]`: every diagnostic, non-zero exit on any error.
struct ContractsCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Lint schemas, examples and asyncapi.yaml; list every problem (file#pointer: message)."
    )

    @Option(name: .long, help: "The contracts directory.")
    var dir: String = "Contracts"

    func run() throws {
        let report = ContractsCheck.run(directory: dir)
        for diagnostic in report.diagnostics { print(diagnostic.description) }
        guard report.isPassing else {
            print("contracts check FAILED: \(report.errorCount) errors")
            throw ExitCode.failure
        }
        print(report.summary)
    }
}

/// `consent-bridge contracts anonymous-forms [--write]`: the anonymous-form schemas derived
/// from the contracts that have one (`AnonymousFormSchema`); `--write` (re)writes them.
struct ContractsAnonymousFormsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "anonymous-forms",
        abstract: "Derive the anonymous-form schema of every contract that has one; --write saves them beside it."
    )

    @Option(name: .long, help: "The contracts directory.")
    var dir: String = "Contracts"

    @Flag(name: .long, help: "Write schemas/<name>.anonymous.schema.json instead of listing what would change.")
    var write = false

    func run() throws {
        let directory = dir + "/schemas"
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".schema.json") && !$0.hasSuffix(".anonymous.schema.json") }.sorted()
        var stale = 0
        for fileName in names {
            let name = String(fileName.dropLast(".schema.json".count))
            guard let bytes = FileManager.default.contents(atPath: directory + "/" + fileName),
                let document = try? StrictJSON.parse(
                    Array(bytes), limits: JSONParseLimits(maxDepth: 64, maxBytes: 4 * 1024 * 1024)),
                let derived = AnonymousFormSchema.derive(from: document, name: name)
            else { continue }
            let target = directory + "/" + AnonymousFormSchema.name(of: name) + ".schema.json"
            if try GeneratedFile.update(target, to: derived.prettyBytes() + [0x0A], write: write) { stale += 1 }
        }
        if stale > 0, !write { throw ExitCode.failure }
    }
}

/// `consent-bridge contracts swift-types [--write]`: the producer library's typed messages,
/// generated from the contracts (`SwiftMessageTypes`); `--write` regenerates the file.
struct ContractsSwiftTypesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swift-types",
        abstract:
            "Generate the producer library's typed messages from the contracts; --write updates Sources/ConsentBridgeClient/Generated/Messages.swift."
    )

    @Option(name: .long, help: "The contracts directory.")
    var dir: String = "Contracts"

    @Option(name: .long, help: "The generated file.")
    var output: String = "Sources/ConsentBridgeClient/Generated/Messages.swift"

    @Flag(name: .long, help: "Write the file instead of saying whether it is current.")
    var write = false

    func run() throws {
        let text = try SwiftMessageTypes.generate(try SwiftMessageTypes.loadSchemas(directory: dir + "/schemas"))
        if try GeneratedFile.update(output, to: Array(text.utf8), write: write), !write { throw ExitCode.failure }
    }
}

/// A file the contracts commands derive: compared with what it should be, and rewritten on
/// request.
enum GeneratedFile {
    /// Whether `path` differs from `contents`; with `write` it is then rewritten. Says which.
    static func update(_ path: String, to contents: [UInt8], write: Bool) throws -> Bool {
        if FileManager.default.contents(atPath: path).map({ Array($0) }) == contents {
            print("up to date: \(path)")
            return false
        }
        guard write else {
            print("stale: \(path) (run with --write)")
            return true
        }
        guard FileManager.default.createFile(atPath: path, contents: Data(contents)) else {
            throw ValidationError("cannot write \(path)")
        }
        print("wrote: \(path)")
        return true
    }
}

/// Dev tool for the jsonschema cross-check: validates JSON lines from stdin, one verdict per line.
struct ContractsValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate JSON lines from stdin against one schema; print one JSON verdict per line.",
        shouldDisplay: false
    )

    @Option(name: .long, help: "Path to a *.schema.json file.")
    var schema: String

    @Flag(name: .long, help: "Read one JSON instance per line from stdin (the only mode).")
    var stdinJsonl = false

    func run() throws {
        guard stdinJsonl else { throw ValidationError("--stdin-jsonl is required") }
        let tool: ContractValidationTool
        do {
            tool = try ContractValidationTool.load(schemaPath: schema)
        } catch {
            print("schema error: \(error)")
            throw ExitCode.failure
        }
        // Raw bytes, not readLine(): the strict parser must see invalid UTF-8 as it arrived.
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            pending += chunk[0..<count]
            var start = 0
            while let newline = pending[start...].firstIndex(of: 0x0A) {
                print(tool.verdict(for: pending[start..<newline]))
                start = newline + 1
            }
            pending.removeFirst(start)
        }
        if !pending.isEmpty { print(tool.verdict(for: pending)) }
    }
}
