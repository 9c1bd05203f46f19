/// An `x-anonymize` rule: how a field appears in the anonymous form.
package enum Generalization: String, Sendable, Hashable, CaseIterable {
    /// Birth date → 10-year age band at event time, e.g. `30-39`.
    case ageBand10y = "age-band-10y"
    /// Kommunenummer → county (fylke, the first two digits), e.g. `0301` → `03`.
    case county
    /// Date or date-time → `YYYY-MM`.
    case month
    /// A work-related field the contract allows in the anonymous form unchanged.
    case keep
    /// An operational field the contract leaves out of the anonymous form (a unit's name, typed
    /// by a person: it could carry anything).
    case drop

    /// The generalized value of `text`, or nil when it has not the expected shape (the caller
    /// then drops the field rather than forwarding the original).
    package func apply(to text: String, eventDate: CivilDate) -> String? {
        switch self {
        case .ageBand10y:
            guard let birth = CivilDate(iso: text) else { return nil }
            let age = birth.age(at: eventDate)
            guard (0...130).contains(age) else { return nil }
            let low = age / 10 * 10
            return "\(low)-\(low + 9)"
        case .county:
            let bytes = Array(text.utf8)
            guard bytes.count == 4, bytes.allSatisfy({ $0 &- UInt8(ascii: "0") < 10 }) else { return nil }
            return String(decoding: bytes[0..<2], as: UTF8.self)
        case .month:
            let bytes = Array(text.utf8)
            guard bytes.count >= 10, CivilDate(iso: String(decoding: bytes[0..<10], as: UTF8.self)) != nil else {
                return nil
            }
            return String(decoding: bytes[0..<7], as: UTF8.self)
        case .keep:
            return text
        case .drop:
            return nil
        }
    }
}
