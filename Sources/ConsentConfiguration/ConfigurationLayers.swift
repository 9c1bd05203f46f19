/// The raw string values of every layer merged by precedence:
/// command line > environment > file > defaults (defaults are applied by the typed reader).
package struct ConfigurationLayers: Sendable {
    /// A raw value and the layer it came from.
    package struct RawValue: Sendable, Hashable {
        /// The value as given.
        package var value: String
        /// The layer it came from.
        package var source: ConfigurationSource
    }

    /// Effective raw values by dotted key.
    package private(set) var values: [String: RawValue] = [:]
    /// Problems found while reading the layers (unknown keys, duplicates, syntax).
    package private(set) var issues: [ConfigurationError.Issue] = []

    /// The command-line option that names the configuration file (not a key itself).
    package static let configFileFlag = "--config"
    /// The environment variable that names the configuration file.
    package static let configFileVariable = "CONSENT_BRIDGE_CONFIG"
    /// The bearer token the `rejections` command sends (docs/operations.md).
    package static let operatorTokenVariable = "CONSENT_BRIDGE_OPERATOR_TOKEN"
    /// The PostgreSQL server `bench bridge` and `bench store` create throwaway databases on.
    package static let benchPostgresURLVariable = "CONSENT_BRIDGE_BENCH_POSTGRES_URL"
    /// `CONSENT_BRIDGE_*` variables that are documented but are not configuration keys: the
    /// file path, the test suites' binary path, the `rejections` command's token and the
    /// benchmarks' PostgreSQL server (plus the `CONSENT_BRIDGE_TEST_` family used by test
    /// harnesses). An operator who exports one as documented can still run every command in
    /// that shell. docs/configuration.md lists them (a test checks it).
    package static let ignoredVariables: Set<String> = [
        configFileVariable, "CONSENT_BRIDGE_BIN", operatorTokenVariable, benchPostgresURLVariable,
    ]
    /// Prefix of test-harness variables that are not configuration.
    package static let ignoredVariablePrefix = "CONSENT_BRIDGE_TEST_"

    private static let byEnvironmentName = Dictionary(
        ConfigurationKey.all.map { ($0.environmentName, $0) }, uniquingKeysWith: { first, _ in first })
    private static let byFlag = Dictionary(
        ConfigurationKey.all.map { ($0.commandLineFlag, $0) }, uniquingKeysWith: { first, _ in first })

    /// Reads the three layers. Unknown `CONSENT_BRIDGE_*` variables, unknown options and
    /// unknown file keys are errors: a misspelt key silently falling back to its default
    /// (say, `plaintext` instead of `sasl_ssl`) is the failure this prevents.
    ///
    /// A secret key may instead be given as `CONSENT_BRIDGE_<KEY>_FILE=/path` (Docker/Compose
    /// secrets): `readSecretFile` returns that file's text, whose trailing newline is dropped.
    package init(
        arguments: [String], environment: [String: String], fileContents: String?,
        readSecretFile: (String) -> String? = { _ in nil }
    ) {
        if let fileContents { readFile(fileContents) }
        readEnvironment(environment, readSecretFile: readSecretFile)
        readArguments(arguments)
    }

    /// Suffix of an environment variable that names a file holding a secret key's value.
    package static let secretFileSuffix = "_FILE"

    private mutating func readFile(_ contents: String) {
        let (entries, fileIssues) = ConfigurationFile.parse(contents)
        issues += fileIssues
        var unknown: [ConfigurationFile.Entry] = []
        for entry in entries {
            if ConfigurationKey.named(entry.key) == nil {
                unknown.append(entry)
            } else {
                values[entry.key] = RawValue(value: entry.value, source: .file(line: entry.line))
            }
        }
        for entry in unknown {
            issues.append(
                .init(
                    .unknownKey, key: entry.key,
                    "unknown key in the configuration file (see docs/configuration.md)",
                    source: .file(line: entry.line)))
        }
    }

    private mutating func readEnvironment(_ environment: [String: String], readSecretFile: (String) -> String?) {
        for (name, value) in environment.sorted(by: { $0.key < $1.key })
        where name.hasPrefix(ConfigurationKey.environmentPrefix) {
            if Self.ignoredVariables.contains(name) || name.hasPrefix(Self.ignoredVariablePrefix) { continue }
            if name.hasSuffix(Self.secretFileSuffix),
                let key = Self.byEnvironmentName[String(name.dropLast(Self.secretFileSuffix.count))]
            {
                readSecretFileVariable(
                    name, path: value, key: key, environment: environment, readSecretFile: readSecretFile)
                continue
            }
            guard let key = Self.byEnvironmentName[name] else {
                issues.append(
                    .init(
                        .unknownKey, key: name, "unknown environment variable (see docs/configuration.md)",
                        source: .environment))
                continue
            }
            values[key.name] = RawValue(value: value, source: .environment)
        }
    }

    private mutating func readSecretFileVariable(
        _ name: String, path: String, key: ConfigurationKey, environment: [String: String],
        readSecretFile: (String) -> String?
    ) {
        guard key.isSecret else {
            issues.append(
                .init(.unknownKey, key: name, "only secret keys can be read from a file", source: .environment))
            return
        }
        guard environment[key.environmentName] == nil else {
            issues.append(
                .init(
                    .conflict, key: key.name, "set both by \(key.environmentName) and by \(name)", source: .environment)
            )
            return
        }
        guard !path.isEmpty, var contents = readSecretFile(path) else {
            issues.append(
                .init(.unreadableFile, key: key.name, "the file named by \(name) cannot be read", source: .environment))
            return
        }
        while let last = contents.last, last == "\n" || last == "\r" { contents.removeLast() }
        values[key.name] = RawValue(value: contents, source: .environment)
    }

    private mutating func readArguments(_ arguments: [String]) {
        var seen: Set<String> = []
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--") else {
                issues.append(
                    .init(
                        .syntax, key: "argument \(index)", "expected an option `--key value`",
                        source: .commandLine))
                continue
            }
            let flag: String
            var value: String?
            if let equals = argument.firstIndex(of: "=") {
                flag = String(argument[..<equals])
                value = String(argument[argument.index(after: equals)...])
            } else {
                flag = argument
            }
            if flag == Self.configFileFlag {
                // The caller has already read the file it names.
                if value == nil, index < arguments.endIndex { index += 1 }
                continue
            }
            guard let key = Self.byFlag[flag] else {
                issues.append(
                    .init(.unknownKey, key: flag, "unknown option (see docs/configuration.md)", source: .commandLine))
                if value == nil, index < arguments.endIndex, !arguments[index].hasPrefix("--") { index += 1 }
                continue
            }
            if value == nil {
                if key.kind == .bool, index == arguments.endIndex || arguments[index].hasPrefix("--") {
                    value = "true"
                } else if index < arguments.endIndex {
                    value = arguments[index]
                    index += 1
                }
            }
            guard let value else {
                issues.append(.init(.missingValue, key: key.name, "option \(flag) needs a value", source: .commandLine))
                continue
            }
            if !seen.insert(key.name).inserted {
                issues.append(.init(.duplicateKey, key: key.name, "option \(flag) given twice", source: .commandLine))
                continue
            }
            values[key.name] = RawValue(value: value, source: .commandLine)
        }
    }

    /// The configuration file named by `--config FILE` / `--config=FILE`, else by
    /// `CONSENT_BRIDGE_CONFIG`; `nil` when neither is given.
    package static func configFilePath(arguments: [String], environment: [String: String]) -> String? {
        for (offset, argument) in arguments.enumerated() {
            if argument == configFileFlag, offset + 1 < arguments.count { return arguments[offset + 1] }
            if argument.hasPrefix(configFileFlag + "=") { return String(argument.dropFirst(configFileFlag.count + 1)) }
        }
        if let path = environment[configFileVariable], !path.isEmpty { return path }
        return nil
    }
}
