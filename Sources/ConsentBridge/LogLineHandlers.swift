import ConsentContracts
import ConsentStorage
package import Foundation
package import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A log handler writing one line per event to `output`, in `Format`. The bridge writes one
/// line per decision at the default level (`info`), so a line must be cheap: the first versions
/// (Foundation's `JSONSerialization` and `Date.formatted` for JSON; swift-log's stream handler
/// for text) cost ~73 and ~9 µs of CPU per line, where these cost ~4–5 (`bench decide
/// --log-format json|text`).
///
/// Messages and metadata are the code's own constants and codes: personal data never reaches
/// them in the first place (tests plant a fødselsnummer and read every line).
package struct LineLogHandler<Format: LogLineFormat>: LogHandler {
    /// The logger's label (`logger` in JSON).
    package let label: String
    /// Events below this level are not written.
    package var logLevel: Logger.Level = .info
    /// Metadata on every line of this handler.
    package var metadata: Logger.Metadata = [:]
    /// Metadata read at each line (task-local context), if any.
    package var metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider
    private let output: LogLineOutput

    /// A handler writing to `output` (standard error unless a test passes its own).
    package init(label: String, output: LogLineOutput = .standardError) {
        self.label = label
        self.output = output
    }

    /// One item of `metadata`.
    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes the event's line, stamped now.
    package func log(event: LogEvent) {
        output.write(line(for: event, at: Date()))
    }

    /// The line for `event` at `time`, newline included: the handler's metadata, the
    /// provider's and the event's (later ones winning), and an error passed with the event under
    /// the names swift-log's own handler uses (errors' descriptions are content-free here too).
    package func line(for event: LogEvent, at time: Date) -> [UInt8] {
        let provided = metadataProvider?.get() ?? [:]
        // A decision's line, the common case, has only the event's own: used without copying.
        var merged = event.metadata ?? [:]
        if !metadata.isEmpty || !provided.isEmpty {
            merged = metadata
            merged.merge(provided) { _, new in new }
            if let own = event.metadata { merged.merge(own) { _, new in new } }
        }
        if let error = event.error {
            merged["error.message"] = "\(error)"
            merged["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        return Format.line(label: label, event: event, metadata: merged, at: time)
    }
}

/// How a line is written (`log.format`).
package protocol LogLineFormat: Sendable {
    /// The line, newline included.
    static func line(label: String, event: LogEvent, metadata: Logger.Metadata, at time: Date) -> [UInt8]
}

/// `log.format = json` (as docker-compose.yml runs the bridge): one JSON object per line,
/// `time`, `level`, `logger`, `message` and the metadata under their own (dotted) names, keys
/// sorted, for log shippers that parse JSON lines.
package typealias JSONLineLogHandler = LineLogHandler<JSONLines>

/// `log.format = text`, the default: swift-log's `StreamLogHandler` line,
/// `2026-12-06T00:34:18+0000 info bridge: k=v k=v [Module] message` (local time).
package typealias TextLineLogHandler = LineLogHandler<TextLines>

/// Through the contracts' JSON serializer, with the store's UTC time (`StoreTime`).
package enum JSONLines: LogLineFormat {
    /// The line, newline included.
    package static func line(label: String, event: LogEvent, metadata: Logger.Metadata, at time: Date) -> [UInt8] {
        var members: [JSONObject.Member] = [
            .init(key: "time", value: .string(StoreTime.string(from: time))),
            .init(key: "level", value: .string(event.level.rawValue)),
            .init(key: "logger", value: .string(label)),
            .init(key: "message", value: .string(event.message.description)),
        ]
        members.reserveCapacity(members.count + metadata.count)
        // The four fixed names win over metadata of the same name.
        for (key, value) in metadata where !fixedKeys.contains(key) {
            members.append(.init(key: key, value: json(value)))
        }
        members.sort { $0.key < $1.key }
        var bytes = JSONValue.object(JSONObject(uniqueMembers: members)).serializedBytes()
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    private static let fixedKeys: Set<String> = ["time", "level", "logger", "message"]

    private static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let text): return .string(text)
        case .stringConvertible(let value): return .string(value.description)
        case .array(let values): return .array(values.map(json))
        case .dictionary(let values):
            let members = values.sorted { $0.key < $1.key }.map {
                JSONObject.Member(key: $0.key, value: json($0.value))
            }
            return .object(JSONObject(uniqueMembers: members))
        }
    }
}

/// swift-log's `StreamLogHandler` line, written here because that handler reads the time with
/// `localtime`, which in glibc checks the time-zone file on every call (~9 µs a line).
package enum TextLines: LogLineFormat {
    /// The line, newline included.
    package static func line(label: String, event: LogEvent, metadata: Logger.Metadata, at time: Date) -> [UInt8] {
        // Bytes appended into room made once (growing a `String` piece by piece was half of it).
        var line: [UInt8] = []
        line.reserveCapacity(256)
        func append(_ text: String) { line.append(contentsOf: text.utf8) }
        append(localTimestamp(time_t(time.timeIntervalSince1970.rounded(.down))))
        line.append(UInt8(ascii: " "))
        append(event.level.rawValue)
        if !label.isEmpty { line.append(UInt8(ascii: " ")) }
        append(label)
        line.append(UInt8(ascii: ":"))
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            line.append(UInt8(ascii: " "))
            append(key)
            line.append(UInt8(ascii: "="))
            append(value.description)
        }
        append(" [")
        append(event.source)
        append("] ")
        append(event.message.description)
        line.append(UInt8(ascii: "\n"))
        return line
    }

    /// `%Y-%m-%dT%H:%M:%S%z` in local time, as swift-log writes it.
    static func localTimestamp(_ seconds: time_t) -> String {
        var seconds = seconds
        var local = tm()
        // `localtime_r` reads the time zone once; `localtime` checks it on every call.
        guard localtime_r(&seconds, &local) != nil else { return "<unknown>" }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer in
            let count = strftime(buffer.baseAddress!, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &local)
            return String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress, count: count), as: UTF8.self)
        }
    }
}

/// Where log lines go: each line is written whole, one at a time, so concurrent loggers never
/// interleave.
package final class LogLineOutput: Sendable {
    private let sink: @Sendable ([UInt8]) -> Void
    private let oneAtATime = Mutex(())

    /// Lines handed to `sink` one at a time.
    package init(_ sink: @escaping @Sendable ([UInt8]) -> Void) {
        self.sink = sink
    }

    /// Standard error, unbuffered: a line is out before the next begins (a crash loses none).
    package static let standardError = LogLineOutput { line in
        line.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(STDERR_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0, errno == EINTR {
                    continue
                } else {
                    return  // Nowhere to report a failed log write; the line is dropped.
                }
            }
        }
    }

    /// Writes one line.
    package func write(_ line: [UInt8]) {
        oneAtATime.withLock { _ in sink(line) }
    }
}
