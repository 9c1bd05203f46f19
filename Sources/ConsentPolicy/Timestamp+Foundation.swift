package import Foundation

extension Timestamp {
    /// The instant of `date`, truncated to milliseconds (for callers that hold Foundation dates).
    package init(_ date: Date) {
        self.init(millisecondsSinceEpoch: Int64((date.timeIntervalSince1970 * 1000).rounded(.down)))
    }

    /// This instant as a Foundation `Date`.
    package var date: Date { Date(timeIntervalSince1970: Double(millisecondsSinceEpoch) / 1000) }
}
