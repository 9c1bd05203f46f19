import Foundation
import Testing

@testable import ConsentStorage

/// The hand-written encoders of the bridge's hot path write exactly what the Foundation
/// encoders they replaced wrote, so stored rows read back the same (and old rows still read).
@Suite("Row encoding")
struct RowEncodingTests {
    @Test("Outbox header base64 matches Foundation's for every length and byte value")
    func base64MatchesFoundation() throws {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<70 {
            for _ in 0..<20 {
                let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                var encoded = [UInt8](repeating: 0, count: OutboxHeaderCodec.base64Length(length) + 2)
                let end = bytes.withUnsafeBufferPointer { input in
                    encoded.withUnsafeMutableBufferPointer { OutboxHeaderCodec.writeBase64(input, into: $0, at: 1) }
                }
                #expect(end == encoded.count - 1)
                #expect(String(decoding: encoded[1..<end], as: UTF8.self) == Data(bytes).base64EncodedString())
                #expect(encoded.first == 0 && encoded.last == 0, "nothing written outside its place")
            }
        }
    }

    @Test("Outbox headers round trip: names, binary values, empty and missing values")
    func headersRoundTrip() throws {
        let headers = [
            MessageHeader(name: "ce_id", value: Array("0f1e-å".utf8)),
            MessageHeader(name: "bin", value: [0, 255, 10, 44, 58]),
            MessageHeader(name: "empty", value: []),
            MessageHeader(name: "tombstone", value: nil),
        ]
        #expect(try OutboxHeaderCodec.decode(OutboxHeaderCodec.encode(headers)) == headers)
        #expect(try OutboxHeaderCodec.decode(OutboxHeaderCodec.encode([])) == [])
        // The exact form older rows were written in (prefix, base64 name, ':' base64 value, ',').
        #expect(OutboxHeaderCodec.encode(headers) == "h1:Y2VfaWQ=:MGYxZS3DpQ==,Ymlu:AP8KLDo=,ZW1wdHk=:,dG9tYnN0b25l")
    }

    @Test("Stored times match ISO8601FormatStyle (milliseconds truncated) and parse back")
    func timesMatchFormatStyle() throws {
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)
        var dates = [0, 951_782_400, 4_102_444_799.999, 1_764_547_200.0005, -1.5, -86_400.25, 253_402_300_799.999].map(
            Date.init(timeIntervalSince1970:))
        for _ in 0..<5000 {
            dates.append(
                Date(timeIntervalSince1970: Double(Int64.random(in: -2_000_000_000_000...4_000_000_000_000)) / 1000))
        }
        for date in dates {
            let text = StoreTime.string(from: date)
            #expect(text == date.formatted(style), "\(date.timeIntervalSince1970)")
            let parsed = try #require(StoreTime.date(from: text))
            #expect(abs(parsed.timeIntervalSince(date)) < 0.0011, "truncated to the millisecond")
        }
    }

    @Test("Stored lists round trip through JSON, with quotes, backslashes, control characters and non-ASCII")
    func listsRoundTrip() throws {
        let lists: [[String]] = [
            [], ["work-capacity"], ["a\"b", "c\\d", "tab\there", "line\nbreak", "\u{0}\u{1f}", "/path/x", "æøå 🤝"],
        ]
        for list in lists {
            let text = try StoreSQL.encodeList(list)
            #expect(try StoreSQL.decodeList(text) == list)
            #expect(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String] == list)
        }
    }
}
