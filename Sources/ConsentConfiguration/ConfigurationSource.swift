/// Where an effective configuration value came from (highest precedence first).
package enum ConfigurationSource: Sendable, Hashable, CustomStringConvertible {
    case commandLine
    case environment
    /// The configuration file, with the 1-based line number.
    case file(line: Int)
    case defaultValue

    package var description: String {
        switch self {
        case .commandLine: "command line"
        case .environment: "environment"
        case .file(let line): "file line \(line)"
        case .defaultValue: "default"
        }
    }
}
