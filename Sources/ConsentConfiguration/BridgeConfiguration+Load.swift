extension BridgeConfiguration {
    /// Loads and validates the configuration; pure (the caller reads the file).
    ///
    /// - Parameters:
    ///   - arguments: configuration options (`--key value`, `--key=value`; bare `--flag` for
    ///     booleans); `--config FILE` is skipped (read it with `ConfigurationLayers.configFilePath`).
    ///   - environment: the process environment; only `CONSENT_BRIDGE_*` is read.
    ///   - fileContents: the configuration file's text, if one is given.
    ///   - readSecretFile: reads the file named by a `CONSENT_BRIDGE_<SECRET_KEY>_FILE`
    ///     variable; `nil` when it cannot be read.
    ///   - fileExists: when given (`config check`), every key naming a file or directory (the
    ///     contracts directory, the IPS agreements registry, the TLS files) is checked with it,
    ///     and a missing one is an issue beside the others.
    /// - Throws: `ConfigurationError` listing every problem, each naming its key, never a value.
    package static func load(
        arguments: [String], environment: [String: String], fileContents: String?,
        readSecretFile: (String) -> String? = { _ in nil }, fileExists: ((String) -> Bool)? = nil
    ) throws(ConfigurationError) -> BridgeConfiguration {
        let layers = ConfigurationLayers(
            arguments: arguments, environment: environment, fileContents: fileContents, readSecretFile: readSecretFile)
        var reader = ConfigurationReader(layers: layers, fileExists: fileExists)
        let configuration = reader.readConfiguration()
        let issues = reader.issues
        guard issues.isEmpty, let configuration else {
            throw ConfigurationError(
                issues: issues.isEmpty
                    ? [.init(.invalidValue, key: "configuration", "invalid configuration")] : issues)
        }
        return configuration
    }
}

extension BridgeConfiguration {
    /// Loads the configuration of this process: finds the configuration file (`--config` or
    /// `CONSENT_BRIDGE_CONFIG`), reads it and any `*_FILE` secrets with `readFile`, then `load`s.
    /// - Parameters:
    ///   - readFile: returns a file's text, `nil` when it cannot be read.
    ///   - fileExists: see `load`.
    package static func loadForProcess(
        arguments: [String], environment: [String: String], readFile: (String) -> String?,
        fileExists: ((String) -> Bool)? = nil
    ) throws(ConfigurationError) -> BridgeConfiguration {
        var fileContents: String?
        if let path = ConfigurationLayers.configFilePath(arguments: arguments, environment: environment) {
            guard let contents = readFile(path) else {
                throw ConfigurationError(issues: [
                    .init(.unreadableFile, key: "config", "the configuration file \(path) cannot be read")
                ])
            }
            fileContents = contents
        }
        return try load(
            arguments: arguments, environment: environment, fileContents: fileContents, readSecretFile: readFile,
            fileExists: fileExists)
    }
}
