import ConsentConfiguration
import Foundation
import Logging
import Synchronization

/// Logging is bootstrapped once, here in the executable; libraries only take a `Logger`.
enum LoggingBootstrap {
    /// Lines of `format` (`text`: swift-log's stream handler; `json`: one object per line) on
    /// standard error, from `level` up.
    static func bootstrap(level: Logger.Level, format: LogSettings.Format = .text) {
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            case .json:
                var handler = JSONLineLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }

    /// Bootstraps from a loaded configuration (`log.level`, `log.format`).
    static func bootstrap(_ settings: LogSettings) {
        bootstrap(level: Logger.Level(argument: settings.level) ?? .info, format: settings.format)
    }
}

/// One JSON object per line on standard error: `time`, `level`, `logger`, `message`, and the
/// metadata under their own (dotted) names, for log shippers that parse JSON lines.
///
/// Messages and metadata are the code's own constants and codes: personal data never reaches
/// them in the first place (tests plant a fødselsnummer and read every line).
struct JSONLineLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider

    /// Lines are written whole, one at a time, so concurrent loggers never interleave.
    private static let output = Mutex(())
    private static let timeStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        var object: [String: Any] = [
            "time": Date().formatted(Self.timeStyle), "level": event.level.rawValue, "logger": label,
            "message": event.message.description,
        ]
        for (key, value) in merged where object[key] == nil { object[key] = Self.json(value) }
        guard
            var line = try? JSONSerialization.data(
                withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return }
        line.append(UInt8(ascii: "\n"))
        Self.output.withLock { _ in FileHandle.standardError.write(line) }
    }

    private static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let text): text
        case .stringConvertible(let value): value.description
        case .array(let values): values.map(json)
        case .dictionary(let values): values.mapValues(json)
        }
    }
}

extension Logger.Level {
    /// Parses `trace|debug|info|notice|warning|error|critical`.
    init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}
