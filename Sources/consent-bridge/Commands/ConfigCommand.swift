import ArgumentParser
import ConsentConfiguration
import Foundation

/// `consent-bridge config …`: validate, show (redacted) and document the configuration.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check, print (secrets redacted) or document the bridge configuration.",
        discussion:
            "Keys come from the command line > CONSENT_BRIDGE_* environment > --config file > defaults (docs/configuration.md).",
        subcommands: [ConfigCheckCommand.self, ConfigPrintCommand.self, ConfigDocsCommand.self]
    )
}

/// Options shared by `config check` and `config print`: the file and any configuration options.
struct ConfigurationInput: ParsableArguments {
    @Option(name: .customLong("config"), help: "Configuration file (`key = value` lines); also CONSENT_BRIDGE_CONFIG.")
    var file: String?

    @Argument(parsing: .allUnrecognized, help: "Configuration options, e.g. --roles bridge --log-level debug.")
    var options: [String] = []

    /// Loads the configuration as `consent-bridge run` would, or exits 78 (EX_CONFIG) after
    /// printing every problem (keys only, never values) to standard error. With
    /// `checkingFiles`, a key naming a file or directory that does not exist is one of them.
    func load(checkingFiles: Bool = false) throws -> BridgeConfiguration {
        let arguments = (file.map { ["--config", $0] } ?? []) + options
        do {
            return try BridgeConfiguration.loadForProcess(
                arguments: arguments, environment: ProcessInfo.processInfo.environment,
                readFile: { try? String(contentsOfFile: $0, encoding: .utf8) },
                fileExists: checkingFiles ? { FileManager.default.fileExists(atPath: $0) } : nil)
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(78)
        }
    }
}

extension ConfigurationInput {
    /// The store of one role, as that role is configured: the store-reading commands
    /// (`disclosures`, `access-report`, `breaches`) read the configuration like `run` does.
    /// Exits 78 when the configuration is invalid or its roles leave that role out.
    func sideStore(_ role: BridgeRole, command: String) throws -> StoreLocation {
        let configuration = try load()
        let store: StoreLocation? =
            switch role {
            case .healthSink: configuration.healthStore
            case .navSink: configuration.navStore
            case .followUpSink: configuration.followUpStore
            case .bridge: configuration.bridgeStore
            }
        guard let store else {
            FileHandle.standardError.write(
                Data(
                    "\(command): the configuration's roles leave out \(role.rawValue), so it names no store for it\n"
                        .utf8))
            throw ExitCode(78)
        }
        return store
    }
}

/// `consent-bridge config check`: exit 0 when the configuration would start, 78 otherwise.
struct ConfigCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate the configuration and the files it names (exit 0 = valid, 78 = invalid).")

    @OptionGroup var input: ConfigurationInput

    func run() throws {
        let configuration = try input.load(checkingFiles: true)
        let roles = configuration.roles.sorted().map(\.rawValue).joined(separator: ",")
        print("configuration valid: roles \(roles)\(configuration.isEmbedded ? ", embedded" : "")")
    }
}

/// `consent-bridge config print`: every key's effective value and source, secrets redacted.
struct ConfigPrintCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "print", abstract: "Print the effective configuration with secrets redacted.")

    @OptionGroup var input: ConfigurationInput

    func run() throws {
        print(try input.load().redactedDescription)
    }
}

/// `consent-bridge config docs`: the key table of docs/configuration.md.
struct ConfigDocsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "docs", abstract: "Print the Markdown table of every configuration key.")

    func run() {
        print(ConfigurationDocumentation.keyTable(), terminator: "")
    }
}
