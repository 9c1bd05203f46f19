import Foundation
import Testing

@testable import ConsentStorage

/// The hand-written encoders of the bridge's hot path write exactly what the Foundation
/// encoders they replaced wrote, so stored rows read back the same (and old rows still read).
@Suite("Row encoding")
struct RowEncodingTests {
    @Test("Outbox headers round trip: any bytes in names and values, table entries, empty and missing values")
    func headersRoundTripAnyBytes() throws {
        var generator = SystemRandomNumberGenerator()
        // Bytes that need care: the separators, the escape and code marks, space, DEL, non-ASCII.
        let awkward: [UInt8] = Array("%,=#: ".utf8) + [0, 10, 127, 128, 255]
        func randomBytes() -> [UInt8] {
            // Up to 40 bytes: the encoder passes over eight plain bytes at a time, so half the
            // values are plain text (as ids and times are) with one or two awkward bytes anywhere.
            let count = Int.random(in: 0...40, using: &generator)
            guard Bool.random(using: &generator) else {
                return (0..<count).map { _ in
                    Bool.random(using: &generator)
                        ? awkward.randomElement(using: &generator)! : UInt8.random(in: 0...255, using: &generator)
                }
            }
            var bytes = (0..<count).map { _ in UInt8.random(in: 0x21...0x7E, using: &generator) }
                .map { "%,=#".utf8.contains($0) ? UInt8(ascii: "a") : $0 }
            for _ in 0..<Int.random(in: 1...2, using: &generator) where !bytes.isEmpty {
                bytes[Int.random(in: bytes.indices, using: &generator)] = awkward.randomElement(using: &generator)!
            }
            return bytes
        }
        for _ in 0..<2000 {
            let headers = (0..<Int.random(in: 0...6, using: &generator)).map { _ in
                let name =
                    Bool.random(using: &generator)
                    ? OutboxHeaderCodec.knownNames.randomElement(using: &generator)!
                    : String(decoding: randomBytes(), as: UTF8.self)
                let value: [UInt8]? =
                    switch Int.random(in: 0..<4, using: &generator) {
                    case 0: nil
                    case 1: Array(OutboxHeaderCodec.knownValues.randomElement(using: &generator)!.utf8)
                    default: randomBytes()
                    }
                return MessageHeader(name: name, value: value)
            }
            let encoded = OutboxHeaderCodec.encode(headers)
            #expect(encoded.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }, "stored as printable ASCII: \(encoded)")
            #expect(encoded == Self.storedForm(headers), "the stored form never changes")
            #expect(try OutboxHeaderCodec.decode(encoded) == headers, "\(encoded)")
        }
    }

    /// The `h2:` form as `OutboxHeaderCodec` documents it, written the plain way, byte by byte:
    /// rows already stored must read the same, so the encoder may get faster, never different.
    private static func storedForm(_ headers: [MessageHeader]) -> String {
        func part(_ bytes: [UInt8], table: [String]) -> String {
            if let index = table.firstIndex(where: { Array($0.utf8) == bytes }) {
                return "#" + String(index, radix: 36)
            }
            return bytes.map { byte in
                let plain = byte > 0x20 && byte < 0x7F && !"%,=#".utf8.contains(byte)
                return plain ? String(UnicodeScalar(byte)) : "%" + String(format: "%02X", byte)
            }.joined()
        }
        return "h2:"
            + headers.map { header in
                part(Array(header.name.utf8), table: OutboxHeaderCodec.knownNames)
                    + (header.value.map { "=" + part($0, table: OutboxHeaderCodec.knownValues) } ?? "") + ","
            }.joined()
    }

    @Test("Outbox headers: the exact stored form, and rows written in the two earlier forms still read")
    func headersStoredForms() throws {
        let headers = [
            MessageHeader(name: "ce_id", value: Array("0f1e-å".utf8)),
            MessageHeader(name: "bin", value: [0, 255, 10, 44, 58]),
            MessageHeader(name: "empty", value: []),
            MessageHeader(name: "tombstone", value: nil),
        ]
        // Known names and values by code; a literal `#0` is escaped, not read as a code.
        let coded = [
            MessageHeader(name: "ce_specversion", text: "1.0"), MessageHeader(name: "#0", text: "#1"),
            MessageHeader(name: "content-type", text: "application/json; charset=utf-8"),
        ]
        #expect(OutboxHeaderCodec.encode(headers) == "h2:#0=0f1e-%C3%A5,bin=%00%FF%0A%2C:,empty=,tombstone,")
        #expect(OutboxHeaderCodec.encode(coded) == "h2:#4=#0,%230=%231,#5=application/json;%20charset%3Dutf-8,")
        #expect(try OutboxHeaderCodec.decode(OutboxHeaderCodec.encode(coded)) == coded)
        #expect(try OutboxHeaderCodec.decode(OutboxHeaderCodec.encode([])) == [])
        // `h1:` (base64 names and values), what rows pending at an upgrade from it hold.
        #expect(
            try OutboxHeaderCodec.decode("h1:Y2VfaWQ=:MGYxZS3DpQ==,Ymlu:AP8KLDo=,ZW1wdHk=:,dG9tYnN0b25l") == headers)
        #expect(try OutboxHeaderCodec.decode("h1:") == [])
        // A corrupt row says so instead of yielding other headers.
        for corrupt in ["h2:#z=1,", "h2:a=%G0,", "h2:a=%4,", "h2:a=b=c,", "h2:#,", "h2:a=b"] {
            #expect(throws: StorageError.self, "\(corrupt)") { try OutboxHeaderCodec.decode(corrupt) }
        }
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
