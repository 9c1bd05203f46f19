import ConsentContracts
import Foundation

/// The consent view's compact form of one entry: how the view holds it in memory and how the
/// bridge store persists it (`consent_view.document`).
///
/// Restoring a national view (a million persons) decodes a million entries at every start: with
/// `JSONDecoder` that took 20 s and 1.3 GB; this form decodes in a fraction of that and takes
/// about a quarter of the bytes. Layout (little-endian): magic `0xCB 0x01`, state tag, highest
/// version (flag + Int64), and for granted/withdrawn the record: the patient id only when it
/// differs from the key it is stored under, the consent id as 16 bytes when it is a lowercase
/// UUID, then the other fields in declaration order; strings as a UInt16 length and UTF-8.
/// Anything that does not decode exactly is not an entry (callers treat it as unreadable:
/// fail closed).
extension ConsentView.Entry {
    private static let magic: [UInt8] = [0xCB, 0x01]

    /// The entry in its compact form, for the person `patientID` it is stored under.
    package func persistedBytes(patientID: String) -> [UInt8] {
        var out = Self.magic
        out.reserveCapacity(120)
        switch state {
        case .absent: out.append(0)
        case .granted: out.append(1)
        case .withdrawn: out.append(2)
        case .tombstoned, .tombstonedAfterRecord: out.append(3)
        case .unreadable: out.append(4)
        }
        Self.append(highestVersion, to: &out)
        switch state {
        case .granted(let record), .withdrawn(let record): Self.append(record, key: patientID, to: &out)
        case .absent, .tombstoned, .tombstonedAfterRecord, .unreadable: break
        }
        return out
    }

    /// Decodes `persistedBytes(patientID:)` for the person it is stored under; nil when `bytes`
    /// is not exactly one entry in this form.
    package init?(persistedBytes bytes: some RandomAccessCollection<UInt8>, patientID: String) {
        let entry: Self?
        if let decoded = bytes.withContiguousStorageIfAvailable({ Self.decode(Reader(bytes: $0), patientID: patientID) }
        ) {
            entry = decoded
        } else {
            entry = Self.decode(Reader(bytes: Array(bytes)), patientID: patientID)
        }
        guard let entry else { return nil }
        self = entry
    }

    private static func decode<Bytes: RandomAccessCollection<UInt8>>(_ start: Reader<Bytes>, patientID: String) -> Self?
    where Bytes.Index == Int {
        var reader = start
        guard reader.byte() == magic[0], reader.byte() == magic[1], let tag = reader.byte(),
            let version = reader.optionalInt64()
        else { return nil }
        let state: ConsentState
        switch tag {
        case 0: state = .absent
        case 1, 2:
            guard let record = Self.record(&reader, key: patientID) else { return nil }
            state = tag == 1 ? .granted(record) : .withdrawn(record)
        case 3: state = .tombstoned
        case 4: state = .unreadable
        default: return nil
        }
        guard reader.isAtEnd else { return nil }
        return Self(state: state, highestVersion: version)
    }

    private static func append(_ record: ConsentRecord, key: String, to out: inout [UInt8]) {
        append(record.patientID == key ? nil : record.patientID, to: &out)
        if let uuid = uuidBytes(record.consentID) {
            out.append(1)
            out += uuid
        } else {
            out.append(0)
            append(record.consentID, to: &out)
        }
        append(Int64?.some(record.version), to: &out)
        out.append(record.status == .granted ? 0 : 1)
        out += [record.categories.rawValue, record.recipientRoles.rawValue, record.directions.rawValue]
        append(record.purpose, to: &out)
        append(record.recordedBy.hprNumber, to: &out)
        append(record.recordedBy.role, to: &out)
        append(record.givenBy, to: &out)
        append(Int64?.some(record.recordedAt.millisecondsSinceEpoch), to: &out)
        append(Int64?.some(record.validFrom.millisecondsSinceEpoch), to: &out)
        append(record.validUntil?.millisecondsSinceEpoch, to: &out)
        out.append(record.form == .oral ? 0 : 1)
    }

    private static func record<Bytes>(_ reader: inout Reader<Bytes>, key: String) -> ConsentRecord? {
        guard let patientID = reader.optionalString() else { return nil }
        let consentID: String
        switch reader.byte() {
        case 1:
            guard let uuid = reader.uuid() else { return nil }
            consentID = uuid
        case 0:
            guard let text = reader.string() else { return nil }
            consentID = text
        default: return nil
        }
        guard let version = reader.optionalInt64() ?? nil,
            let status = reader.byte(), status <= 1,
            let categories = reader.byte(), let roles = reader.byte(), let directions = reader.byte(),
            let purpose = reader.string(), let hprNumber = reader.string(), let role = reader.string(),
            let givenBy = reader.optionalString(),
            let recordedAt = reader.optionalInt64() ?? nil, let validFrom = reader.optionalInt64() ?? nil,
            let validUntil = reader.optionalInt64(), let form = reader.byte(), form <= 1
        else { return nil }
        return ConsentRecord(
            patientID: patientID ?? key, consentID: consentID, version: version,
            status: status == 0 ? .granted : .withdrawn,
            categories: ConsentCategories(rawValue: categories), recipientRoles: RecipientRoles(rawValue: roles),
            directions: ConsentDirections(rawValue: directions), purpose: purpose,
            recordedBy: .init(hprNumber: hprNumber, role: role),
            recordedAt: Timestamp(millisecondsSinceEpoch: recordedAt),
            validFrom: Timestamp(millisecondsSinceEpoch: validFrom),
            validUntil: validUntil.map(Timestamp.init(millisecondsSinceEpoch:)), form: form == 0 ? .oral : .written,
            givenBy: givenBy)
    }

    /// The 16 bytes of a lowercase canonical UUID (which they give back exactly), else nil.
    private static func uuidBytes(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count == 36 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        var high: UInt8? = nil
        for (index, character) in utf8.enumerated() {
            if index == 8 || index == 13 || index == 18 || index == 23 {
                guard character == UInt8(ascii: "-") else { return nil }
                continue
            }
            let nibble: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = character - UInt8(ascii: "a") + 10
            default: return nil
            }
            if let first = high {
                bytes.append(first << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return bytes
    }

    private static func append(_ value: Int64?, to out: inout [UInt8]) {
        guard let value else { return out.append(0) }
        out.append(1)
        withUnsafeBytes(of: value.littleEndian) { out += $0 }
    }

    private static func append(_ text: String?, to out: inout [UInt8]) {
        guard let text else {
            out += [0xFF, 0xFF]
            return
        }
        let utf8 = Array(text.utf8.prefix(0xFFFE))
        let count = UInt16(utf8.count)
        out += [UInt8(count & 0xFF), UInt8(count >> 8)]
        out += utf8
    }

    /// Reads the compact form in place; every accessor returns nil past the end.
    private struct Reader<Bytes: RandomAccessCollection<UInt8>> where Bytes.Index == Int {
        let bytes: Bytes
        var position: Int

        init(bytes: Bytes) {
            self.bytes = bytes
            self.position = bytes.startIndex
        }

        var isAtEnd: Bool { position == bytes.endIndex }

        mutating func take(_ count: Int) -> Bytes.SubSequence? {
            guard count >= 0, count <= bytes.endIndex - position else { return nil }
            defer { position += count }
            return bytes[position..<(position + count)]
        }

        mutating func byte() -> UInt8? {
            guard position < bytes.endIndex else { return nil }
            defer { position += 1 }
            return bytes[position]
        }

        /// `.some(nil)` for an absent value, nil when malformed.
        mutating func optionalInt64() -> Int64?? {
            guard let flag = byte() else { return nil }
            if flag == 0 { return .some(nil) }
            guard flag == 1, let raw = take(8) else { return nil }
            var value: UInt64 = 0
            for (index, byte) in raw.enumerated() { value |= UInt64(byte) << (8 * UInt64(index)) }
            return .some(Int64(bitPattern: value))
        }

        /// `.some(nil)` for an absent string, nil when malformed.
        mutating func optionalString() -> String?? {
            guard let low = byte(), let high = byte() else { return nil }
            let count = Int(low) | Int(high) << 8
            if count == 0xFFFF { return .some(nil) }
            guard let utf8 = take(count), let text = String(validatingUTF8Bytes: utf8) else { return nil }
            return .some(text)
        }

        mutating func string() -> String? { optionalString() ?? nil }

        /// A lowercase canonical UUID from 16 bytes.
        mutating func uuid() -> String? {
            take(16).map { UUID.lowercaseText(of: $0) }
        }
    }
}
