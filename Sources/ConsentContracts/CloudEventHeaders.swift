/// The CloudEvents binary-mode headers of a Kafka message (`ce_id`, `ce_type`, …), read once.
///
/// One function reads them (`init(kafkaHeaders:)`) and one rule judges them (`problem`): every
/// header of `requiredNames` must be present exactly once, as UTF-8, and well formed. The
/// pipeline, the record builder, the sinks and redrive all read a message's envelope through
/// this type, so no two parts can decide on different copies of a repeated header.
package struct CloudEventHeaders: Sendable, Hashable {
    /// `ce_id`: unique per message; receivers de-duplicate by it.
    package var id: String?
    /// `ce_type`: names the contract, e.g. `no.ips.health.referral.v1`.
    package var type: String?
    /// `ce_source`: the sending system.
    package var source: String?
    /// `ce_time`: when the event happened (RFC 3339); the anonymous form's age bands use it.
    package var time: String?
    /// `ce_specversion`: must be `1.0`.
    package var specVersion: String?
    /// `content-type`: must be JSON.
    package var contentType: String?
    /// Names of envelope headers that were present more than once or not UTF-8 (always a fault:
    /// which copy is meant cannot be told).
    package var unreadable: Set<String> = []

    /// Header names, as in ARCHITECTURE.md.
    package enum Name {
        package static let id = "ce_id"
        package static let type = "ce_type"
        package static let source = "ce_source"
        package static let time = "ce_time"
        package static let specVersion = "ce_specversion"
        package static let contentType = "content-type"
    }

    /// Every header `Contracts/asyncapi.yaml` requires on every message.
    package static let requiredNames = [Name.id, Name.type, Name.source, Name.time, Name.specVersion, Name.contentType]

    /// Longest accepted `ce_id`, `ce_type` and `ce_source` (the contracts' `maxLength: 200`).
    package static let maxTextLength = 200

    /// Headers with the given values.
    package init(
        id: String?, type: String?, source: String? = "urn:no:ips:test", time: String? = "2026-10-15T09:00:00Z",
        specVersion: String? = "1.0", contentType: String? = "application/json"
    ) {
        self.id = id
        self.type = type
        self.source = source
        self.time = time
        self.specVersion = specVersion
        self.contentType = contentType
    }

    /// Reads the envelope headers from Kafka header pairs. A header present twice (or not valid
    /// UTF-8) is recorded in `unreadable` and its value left nil.
    package init(kafkaHeaders: some Sequence<(name: String, value: [UInt8])>) {
        var reader = Reader()
        for header in kafkaHeaders { reader.read(name: header.name, value: header.value) }
        self = reader.headers
    }

    /// Reads an envelope one header at a time, in the order the message carries them (as
    /// `init(kafkaHeaders:)`). The pipeline feeds it each consumed record's headers in a plain
    /// loop: through a generic sequence (a lazy view of the record's headers) each header was
    /// fetched by unspecialized generic code, ~1% of the bridge's CPU.
    package struct Reader {
        /// What was read so far.
        package private(set) var headers = CloudEventHeaders(
            id: nil, type: nil, source: nil, time: nil, specVersion: nil, contentType: nil)
        /// Bit i: `requiredNames[i]` was read (read for every event: no set).
        private var seen: UInt32 = 0

        /// A reader that has read nothing.
        package init() {}

        /// Reads one header; names that are not envelope headers are passed over.
        package mutating func read(name: String, value: [UInt8]) {
            guard let index = CloudEventHeaders.requiredNames.firstIndex(of: name) else { return }
            let name = CloudEventHeaders.requiredNames[index]
            let isFirst = seen & (1 << index) == 0
            seen |= 1 << index
            guard isFirst, let text = String(validatingUTF8Bytes: value) else {
                headers.unreadable.insert(name)
                headers.set(name, nil)
                return
            }
            headers.set(name, text)
        }
    }

    mutating func set(_ name: String, _ value: String?) {
        switch name {
        case Name.id: id = value
        case Name.type: type = value
        case Name.source: source = value
        case Name.time: time = value
        case Name.specVersion: specVersion = value
        default: contentType = value
        }
    }

    /// The value of header `name` (one of `requiredNames`).
    package func value(of name: String) -> String? {
        switch name {
        case Name.id: id
        case Name.type: type
        case Name.source: source
        case Name.time: time
        case Name.specVersion: specVersion
        default: contentType
        }
    }

    /// What is wrong with the envelope, or nil when every required header is there once and
    /// well formed. Names headers, never their values (they may hold personal data).
    package var problem: EnvelopeProblem? {
        for name in Self.requiredNames {
            if unreadable.contains(name) { return EnvelopeProblem(header: name, kind: .repeatedOrNotUTF8) }
            guard let value = value(of: name), !value.isEmpty else {
                return EnvelopeProblem(header: name, kind: .missing)
            }
            let wellFormed: Bool
            switch name {
            case Name.id: wellFormed = Self.isWellFormedID(value)
            case Name.type: wellFormed = value.utf8.count <= Self.maxTextLength
            case Name.source: wellFormed = Self.isWellFormedSource(value)
            case Name.time: wellFormed = RFC3339.isValidDateTime(value)
            default: wellFormed = true  // spec version and content type have reasons of their own
            }
            if !wellFormed { return EnvelopeProblem(header: name, kind: .malformed) }
        }
        return nil
    }

    /// Whether this is the envelope the `consent` contract requires of a record on
    /// `health.consent`: every required header once and well formed, `ce_type` the consent
    /// contract's, spec version `1.0`, a JSON body. A consent record in any other envelope is no
    /// consent (R5, fail closed). The bridge's consent view and the journal both judge a record by
    /// this one rule, so the journal never lacks a consent the bridge discloses under (R4, R11).
    package var isConsentEnvelope: Bool {
        problem == nil && type == ContractVocabulary.consentType && specVersion == "1.0"
            && contentType.map(Self.isJSONContentType) == true
    }

    /// Whether a `content-type` names JSON (`application/json`, parameters and case aside).
    package static func isJSONContentType(_ contentType: String) -> Bool {
        if contentType == "application/json" { return true }  // the common case, no allocation
        var media = Substring(contentType)
        if let semicolon = media.firstIndex(of: ";") { media = media[..<semicolon] }
        while media.first == " " { media = media.dropFirst() }
        while media.last == " " { media = media.dropLast() }
        return media.lowercased() == "application/json"
    }

    /// `ce_id`: 1–200 characters of `A-Z a-z 0-9 . _ : -` (a closed alphabet: no spaces, no
    /// `@` or `/`, nothing that could carry a name or an address).
    package static func isWellFormedID(_ text: String) -> Bool {
        let bytes = text.utf8
        return !bytes.isEmpty && bytes.count <= maxTextLength && bytes.allSatisfy(isIDByte)
    }

    /// Whether `text` is a UUID in its canonical text form: 8-4-4-4-12 hex digits, either case.
    /// Every event contract's `eventId` is one, and it is also the event's `ce_id`; the policy
    /// lets an event cross with no other `ce_id` (`PolicyEngine`). The id reaches receipts, the
    /// rejection topic, logs and operators, and a UUID holds no name, number or address of the
    /// sender's choosing, where the id alphabet alone still let `Kari.Nordmann` through.
    package static func isUUID(_ text: String) -> Bool {
        let bytes = text.utf8
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            switch index {
            case 8, 13, 18, 23:
                guard byte == UInt8(ascii: "-") else { return false }
            default:
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
                    UInt8(ascii: "A")...UInt8(ascii: "F"):
                    continue
                default:
                    return false
                }
            }
        }
        return true
    }

    /// `ce_source`: an absolute URI (`scheme:rest`) of at most 200 characters from the closed
    /// alphabet of ids plus `/`.
    package static func isWellFormedSource(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= maxTextLength, let colon = bytes.firstIndex(of: UInt8(ascii: ":")),
            colon > 0
        else {
            return false
        }
        guard bytes[0] >= UInt8(ascii: "a"), bytes[0] <= UInt8(ascii: "z") else { return false }
        return bytes.allSatisfy { isIDByte($0) || $0 == UInt8(ascii: "/") }
    }

    private static func isIDByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }
}

/// Why an envelope was refused: which header, and how (never the value).
package struct EnvelopeProblem: Sendable, Hashable, CustomStringConvertible {
    package enum Kind: String, Sendable, Hashable {
        case missing
        case repeatedOrNotUTF8 = "repeated-or-not-utf8"
        case malformed
    }

    /// The header's name, e.g. `ce_source`.
    package var header: String
    /// What is wrong with it.
    package var kind: Kind

    package var description: String { "\(header) \(kind.rawValue)" }
}
