/// What the consent view knows about one patient, as the policy sees it.
///
/// Only `.granted` can ever allow identified disclosure; every other case means no consent.
package enum ConsentState: Sendable, Hashable, Codable {
    /// No record was ever seen for this patient.
    case absent
    /// The latest record grants consent (validity window and scope still to be checked).
    case granted(ConsentRecord)
    /// The latest record withdraws consent (R5).
    case withdrawn(ConsentRecord)
    /// The latest message for the key was a tombstone, and no consent record came before it.
    case tombstoned
    /// The latest message for the key was a tombstone after a consent record: the consent was
    /// deleted, which for R5 is its withdrawal (the recipients may know who the person is, so
    /// the anonymous path closes too). Derived when the view is read, never stored as such.
    case tombstonedAfterRecord
    /// The latest message for the key could not be read as a consent (fail closed).
    case unreadable

    /// The record in force, if the state is granted.
    package var grantedRecord: ConsentRecord? {
        if case .granted(let record) = self { return record }
        return nil
    }
}

extension ConsentState {
    /// The case's name alone (`granted`, `withdrawn`, `tombstoned`, `unreadable`, `absent`).
    package var caseName: String {
        switch self {
        case .absent: "absent"
        case .granted: "granted"
        case .withdrawn: "withdrawn"
        case .tombstoned, .tombstonedAfterRecord: "tombstoned"
        case .unreadable: "unreadable"
        }
    }
}

extension ConsentState: CustomStringConvertible {
    /// The case and consent id/version only, never the patient id.
    package var description: String {
        switch self {
        case .absent: "absent"
        case .granted(let record): "granted(\(record.reference))"
        case .withdrawn(let record): "withdrawn(\(record.reference))"
        case .tombstoned: "tombstoned"
        case .tombstonedAfterRecord: "tombstoned(after a record)"
        case .unreadable: "unreadable"
        }
    }
}
