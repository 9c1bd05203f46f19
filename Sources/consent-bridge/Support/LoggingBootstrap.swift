import Logging

/// Logging is bootstrapped once, here in the executable; libraries only take a `Logger`.
enum LoggingBootstrap {
    static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

extension Logger.Level {
    /// Parses `trace|debug|info|notice|warning|error|critical`.
    init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}
