import ArgumentParser
import ConsentBridge
import ConsentConfiguration
import Logging

/// Logging is bootstrapped once, here in the executable; libraries only take a `Logger`.
enum LoggingBootstrap {
    /// Lines of `format` (`text`: swift-log's stream handler's lines; `json`: one object per line) on
    /// standard error, from `level` up.
    static func bootstrap(level: Logger.Level, format: LogSettings.Format = .text) {
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = TextLineLogHandler(label: label)
                handler.logLevel = level
                return handler
            case .json:
                var handler = JSONLineLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }

    /// For the benchmarks: errors only by default, so figures compare with earlier rounds; with
    /// `--log-format`, the default `run`'s level (info) in that format, so each decision's line is
    /// written and counted.
    static func bootstrap(benchmarkLogFormat format: LogSettings.Format?) {
        bootstrap(level: format == nil ? .error : .info, format: format ?? .text)
    }

    /// Bootstraps from a loaded configuration (`log.level`, `log.format`).
    static func bootstrap(_ settings: LogSettings) {
        bootstrap(level: Logger.Level(argument: settings.level) ?? .info, format: settings.format)
    }
}

extension Logger.Level {
    /// Parses `trace|debug|info|notice|warning|error|critical`.
    init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

extension LogSettings.Format: ExpressibleByArgument {}
