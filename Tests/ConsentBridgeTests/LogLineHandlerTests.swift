import ConsentBridge
import Foundation
import Logging
import Synchronization
import Testing

/// The log lines `run` writes (`log.format` text or json). Operators' tools read them: the text
/// lines must stay swift-log's, and every JSON line must be one object a JSON parser accepts,
/// whatever the message or metadata hold.
@Suite("Log line handlers")
struct LogLineHandlerTests {
    /// A decision's line as `EventDecider` writes it, plus the awkward cases.
    static let events: [LogEvent] = [
        LogEvent(
            level: .info, message: "Decided",
            metadata: [
                "event.id": "7d0f5c1e-1c1b-4b8e-9a55-0e2f3b4c5d6e", "event.type": "no.ips.health.referral.v1",
                "event.direction": "health-to-nav", "decision.outcome": "forward", "decision.code": "accepted",
            ], source: "ConsentBridge", file: #fileID, function: #function, line: #line),
        LogEvent(level: .notice, message: "no metadata", metadata: nil, source: "S", file: "", function: "", line: 1),
        LogEvent(
            level: .error, message: "quote \" backslash \\ newline \n tab \t control \u{01} ø",
            error: Failure(), metadata: ["nested": ["a": "1", "b": ["x", "y"]], "count": "\(3)"],
            source: "ConsentStorage", file: "", function: "", line: 2),
    ]

    struct Failure: Error, CustomStringConvertible {
        var description: String { "store unavailable (code 7)" }
    }

    @Test("text lines are swift-log's StreamLogHandler lines, byte for byte after the time")
    func textLinesMatchSwiftLog() throws {
        for label in ["bridge", ""] {
            for event in Self.events {
                let stream = CapturedStream()
                StreamLogHandler(label: label, stream: stream, metadataProvider: nil).log(event: event)
                let ours = String(
                    decoding: TextLineLogHandler(label: label).line(for: event, at: Date()), as: UTF8.self)
                let theirs = stream.text
                // The time is the first word; the rest must be identical.
                #expect(ours.drop { $0 != " " } == theirs.drop { $0 != " " })
                let stamp = ours.prefix { $0 != " " }
                #expect(stamp.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}/) != nil, "\(stamp)")
            }
        }
    }

    @Test("the text line's time is the given second in local time")
    func textTimeIsLocalTime() {
        // 2026-12-06T00:34:18Z; the test machine's zone decides the rest, as for swift-log.
        let seconds: time_t = 1_796_517_258
        var copy = seconds
        var local = tm()
        localtime_r(&copy, &local)
        let expected = String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d", local.tm_year + 1900, local.tm_mon + 1, local.tm_mday,
            local.tm_hour, local.tm_min, local.tm_sec)
        let line = String(
            decoding: TextLineLogHandler(label: "x").line(
                for: Self.events[1], at: Date(timeIntervalSince1970: 1_796_517_258.9)), as: UTF8.self)
        #expect(line.hasPrefix(expected))
    }

    @Test("each JSON line is one object, keys sorted, fixed names first-class, nesting kept")
    func jsonLinesParse() throws {
        let time = Date(timeIntervalSince1970: 1_796_517_258.123_9)
        for event in Self.events {
            let bytes = JSONLineLogHandler(label: "bridge").line(for: event, at: time)
            #expect(bytes.last == UInt8(ascii: "\n"))
            #expect(bytes.dropLast().contains(UInt8(ascii: "\n")) == false)
            // Foundation's parser, not the serializer that wrote the line.
            let object = try #require(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
            #expect(object["time"] as? String == "2026-12-06T00:34:18.123Z")
            #expect(object["level"] as? String == event.level.rawValue)
            #expect(object["logger"] as? String == "bridge")
            #expect(object["message"] as? String == event.message.description)
            for (key, value) in event.metadata ?? [:] where key != "time" {
                if case .string(let text) = value { #expect(object[key] as? String == text) }
            }
            // Keys in sorted order, as written.
            let keys = try Self.topLevelKeys(of: bytes)
            #expect(keys == keys.sorted())
            #expect(Set(keys) == Set(object.keys))
        }
        let last = try #require(
            JSONSerialization.jsonObject(with: Data(JSONLineLogHandler(label: "b").line(for: Self.events[2], at: time)))
                as? [String: Any])
        let nested = try #require(last["nested"] as? [String: Any])
        #expect(nested["a"] as? String == "1")
        #expect(nested["b"] as? [String] == ["x", "y"])
        #expect(last["error.message"] as? String == "store unavailable (code 7)")
        #expect((last["error.type"] as? String)?.hasSuffix("Failure") == true)
    }

    @Test("metadata cannot replace the time, level, logger or message")
    func fixedNamesWin() throws {
        let event = LogEvent(
            level: .warning, message: "real",
            metadata: ["time": "forged", "level": "forged", "logger": "forged", "message": "forged", "other": "kept"],
            source: "S", file: "", function: "", line: 1)
        var handler = JSONLineLogHandler(label: "bridge")
        handler.metadata = ["handler.own": "1", "other": "overridden by the event"]
        let bytes = handler.line(for: event, at: Date(timeIntervalSince1970: 0))
        let object = try #require(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(object["time"] as? String == "1970-01-01T00:00:00.000Z")
        #expect(object["level"] as? String == "warning")
        #expect(object["logger"] as? String == "bridge")
        #expect(object["message"] as? String == "real")
        #expect(object["other"] as? String == "kept")
        #expect(object["handler.own"] as? String == "1")
        #expect(try Self.topLevelKeys(of: bytes).count == object.count)  // no duplicate keys
    }

    @Test("lines logged from many tasks at once reach the output whole, one at a time")
    func concurrentLinesDoNotInterleave() async throws {
        let written = Mutex<[[UInt8]]>([])
        let output = LogLineOutput { line in written.withLock { $0.append(line) } }
        let logger = Logger(label: "bridge") { JSONLineLogHandler(label: $0, output: output) }
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for index in 0..<200 { logger.info("line", metadata: ["task": "\(task)", "index": "\(index)"]) }
                }
            }
        }
        let lines = written.withLock { $0 }
        #expect(lines.count == 1600)
        var seen = Set<String>()
        for line in lines {
            let object = try #require(JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
            seen.insert("\(object["task"] ?? "")/\(object["index"] ?? "")")
        }
        #expect(seen.count == 1600)
    }

    /// The top-level keys of a one-line JSON object in the order written (a minimal scan: the
    /// values here are strings, objects and arrays of strings).
    static func topLevelKeys(of bytes: [UInt8]) throws -> [String] {
        var keys: [String] = []
        var depth = 0
        var index = 0
        var expectKey = false
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                expectKey = depth == 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
            case UInt8(ascii: ","):
                expectKey = depth == 1
            case UInt8(ascii: "\""):
                var end = index + 1
                while bytes[end] != UInt8(ascii: "\"") { end += bytes[end] == UInt8(ascii: "\\") ? 2 : 1 }
                if expectKey {
                    keys.append(
                        try #require(
                            JSONSerialization.jsonObject(
                                with: Data(bytes[index...end]), options: .fragmentsAllowed) as? String))
                    expectKey = false
                }
                index = end
            default:
                break
            }
            index += 1
        }
        return keys
    }
}

/// A `TextOutputStream` that keeps what swift-log's handler writes.
final class CapturedStream: TextOutputStream, Sendable {
    private let written = Mutex("")
    var text: String { written.withLock { $0 } }
    func write(_ string: String) { written.withLock { $0 += string } }
}
