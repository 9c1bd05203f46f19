package import ConsentContracts

/// The latest consent per patient, built by applying `health.consent` records in order.
///
/// A pure value: `apply` never does I/O, so the bridge can snapshot it (it is `Codable`),
/// persist it in its store, and rebuild it deterministically. Rules:
/// - a record whose version is lower than the highest seen for the patient never overwrites
///   it (an equal version replaces only as a withdrawal, the fail-closed reading);
/// - a tombstone means no consent;
/// - anything that cannot be read as a consent for that key means no consent for the key.
package struct ConsentView: Sendable, ConsentLookup {
    /// The view's knowledge about one patient.
    package struct Entry: Sendable, Hashable, Codable {
        /// The state the policy sees.
        package var state: ConsentState
        /// Highest version ever applied for the patient (kept across tombstones and unreadable
        /// records so a replayed older version cannot resurrect a consent).
        package var highestVersion: Int64?

        package init(state: ConsentState, highestVersion: Int64?) {
            self.state = state
            self.highestVersion = highestVersion
        }
    }

    /// What `apply` did.
    package enum ApplyOutcome: Sendable, Hashable {
        /// The view changed.
        case applied
        /// The record's version was not newer than what the view holds; ignored.
        case ignoredStale
        /// The message was not a readable consent; the key now has no consent.
        case unreadable(ConsentRecordError)
    }

    /// Entries by patient id, each in its compact form (`Entry.persistedBytes(patientID:)`,
    /// behind a UInt16 length) in one arena: a national view of a million persons takes about
    /// 160 MB this way, against 530 MB as a dictionary of structs (`consent-bridge bench
    /// consent-view`). Decoding one on a lookup costs under a microsecond.
    /// Arena positions as UInt32 (the table stores values apart from keys: 4 bytes a person
    /// instead of 8; an arena of 4 GiB is ~30 million persons).
    private var offsets: [String: UInt32]
    private var arena: [UInt8] = []
    /// Arena bytes no entry uses any more (replaced by a longer one); reclaimed by `compact`.
    private var abandoned = 0

    /// An empty view (nobody has consented).
    package init() { offsets = [:] }

    /// Number of patients the view knows about.
    package var count: Int { offsets.count }

    /// Makes room for `count` patients at once (a restore knows how many rows it will read:
    /// growing a national view by doubling leaves the freed tables as garbage).
    package mutating func reserveCapacity(_ count: Int) {
        offsets.reserveCapacity(count)
        arena.reserveCapacity(count * 120)
    }

    /// What the view knows about `patientID`, if anything. An entry that does not decode (it
    /// cannot happen for one the view wrote) reads as unreadable: no consent (fail closed).
    package func entry(for patientID: String) -> Entry? {
        guard let position = offsets[patientID] else { return nil }
        let start = Int(position)
        let length = Int(arena[start]) | Int(arena[start + 1]) << 8
        return Entry(persistedBytes: arena[(start + 2)..<(start + 2 + length)], patientID: patientID)
            ?? Entry(state: .unreadable, highestVersion: nil)
    }

    /// The state the policy decides with. A tombstone after any record (the view kept its
    /// version) is `tombstonedAfterRecord`: a deleted consent is a withdrawn one (R5).
    package func state(for patientID: String) -> ConsentState {
        guard let entry = entry(for: patientID) else { return .absent }
        if case .tombstoned = entry.state, entry.highestVersion != nil { return .tombstonedAfterRecord }
        return entry.state
    }

    private mutating func set(_ entry: Entry, for patientID: String) {
        let bytes = entry.persistedBytes(patientID: patientID)
        if let position = offsets[patientID] {
            let start = Int(position)
            let length = Int(arena[start]) | Int(arena[start + 1]) << 8
            if length == bytes.count {
                arena.replaceSubrange((start + 2)..<(start + 2 + length), with: bytes)
                return
            }
            abandoned += length + 2
        }
        offsets[patientID] = UInt32(arena.count)
        arena += [UInt8(bytes.count & 0xFF), UInt8(bytes.count >> 8)]
        arena += bytes
        if abandoned > 1 << 20 && abandoned * 2 > arena.count { compact() }
    }

    /// Rewrites the arena without the abandoned bytes.
    private mutating func compact() {
        var fresh: [UInt8] = []
        fresh.reserveCapacity(arena.count - abandoned)
        for (patientID, position) in offsets {
            let start = Int(position)
            let length = Int(arena[start]) | Int(arena[start + 1]) << 8
            offsets[patientID] = UInt32(fresh.count)
            fresh += arena[start..<(start + 2 + length)]
        }
        arena = fresh
        abandoned = 0
    }

    /// Applies a parsed record.
    @discardableResult
    package mutating func apply(_ record: ConsentRecord) -> ApplyOutcome {
        let existing = entry(for: record.patientID)
        if let highest = existing?.highestVersion {
            if record.version < highest { return .ignoredStale }
            if record.version == highest {
                // Same version twice is a redelivery; only a withdrawal may win (fail closed).
                guard record.status == .withdrawn, existing?.state.grantedRecord != nil else { return .ignoredStale }
            }
        }
        let state: ConsentState = record.status == .granted ? .granted(record) : .withdrawn(record)
        set(
            Entry(state: state, highestVersion: max(record.version, existing?.highestVersion ?? 0)),
            for: record.patientID)
        return .applied
    }

    /// Applies a tombstone for `patientID`: no consent from now on.
    package mutating func applyTombstone(patientID: String) {
        set(Entry(state: .tombstoned, highestVersion: entry(for: patientID)?.highestVersion), for: patientID)
    }

    /// Puts back an entry persisted earlier (state and highest version), as it was decided.
    package mutating func restore(_ entry: Entry, for patientID: String) {
        set(entry, for: patientID)
    }

    /// Marks `patientID` as having an unreadable latest record: no consent. `version`: the
    /// version the record claims for this person, when it can be read: only a record with a
    /// higher one brings a consent back (an older grant must not undo what it may have been).
    package mutating func applyUnreadable(patientID: String, version: Int64? = nil) {
        let highest = [entry(for: patientID)?.highestVersion, version].compactMap { $0 }.max()
        set(Entry(state: .unreadable, highestVersion: highest), for: patientID)
    }

    /// Applies one message from `health.consent` using the catalog's consent contract; without
    /// a consent contract nothing is readable, so the key has no consent (fail closed).
    @discardableResult
    package mutating func apply(key: String, value: [UInt8]?, catalog: PolicyCatalog) -> ApplyOutcome {
        guard let schema = catalog.consentSchema else {
            if value == nil {
                applyTombstone(patientID: key)
                return .applied
            }
            applyUnreadable(patientID: key)
            return .unreadable(ConsentRecordError(code: .schemaViolation, detail: "no consent contract"))
        }
        return apply(key: key, value: value, schema: schema)
    }

    /// Applies one message from `health.consent`: `value == nil` is a tombstone; bytes that are
    /// not a valid consent for exactly this key leave the key with no consent.
    @discardableResult
    package mutating func apply(key: String, value: [UInt8]?, schema: JSONSchema) -> ApplyOutcome {
        guard let value else {
            applyTombstone(patientID: key)
            return .applied
        }
        do {
            let record = try ConsentRecord.parse(value, schema: schema)
            guard record.patientID == key else {
                // Which of the two persons the record is about cannot be told: neither has a
                // readable consent until a newer valid record arrives (R5, fail closed); for the
                // person it names, newer than the version it gives (it may be their withdrawal).
                applyUnreadable(patientID: key)
                applyUnreadable(patientID: record.patientID, version: record.version)
                return .unreadable(ConsentRecordError(code: .keyMismatch, detail: "patientId"))
            }
            return apply(record)
        } catch {
            applyUnreadable(patientID: key)
            // A record that breaks the contract and names someone other than its key (two
            // producer faults) may be that person's withdrawal: their consent is unreadable too,
            // as for a record sent without a key (R5, fail closed).
            if let named = Self.namedPatient(in: value), named != key { applyUnreadable(patientID: named) }
            return .unreadable(error)
        }
    }

    /// The `patientId` a consent record's body names, read from any strict JSON object
    /// whatever else is wrong with it; nil when there is none.
    static func namedPatient(in value: [UInt8]) -> String? {
        guard let body = try? StrictJSON.parse(value), let patient = body.objectValue?["patientId"]?.stringValue,
            !patient.isEmpty
        else { return nil }
        return patient
    }
}

extension ConsentView {
    /// Applies a record that has no (UTF-8) Kafka key: it cannot be the consent of anyone, but
    /// if its body names a person (even in a record that is otherwise invalid) that person's
    /// consent is unreadable from now on (R5: a withdrawal sent without its key must not
    /// leave the old grant in force). Returns the person it named, if any.
    @discardableResult
    package mutating func applyKeyless(value: [UInt8]?) -> String? {
        guard let value, let patient = Self.namedPatient(in: value) else { return nil }
        applyUnreadable(patientID: patient)
        return patient
    }
}

extension ConsentView: CustomStringConvertible {
    /// Counts only: the keys are fødselsnumre.
    package var description: String { "ConsentView(\(offsets.count) patients)" }
}

/// Two views are equal when they know the same persons in the same states, however their
/// arenas are laid out; a snapshot is the entries by patient id.
extension ConsentView: Hashable, Codable {
    private var entriesByPatient: [String: Entry] {
        Dictionary(
            uniqueKeysWithValues: offsets.keys.compactMap { patient in entry(for: patient).map { (patient, $0) } })
    }

    package static func == (lhs: ConsentView, rhs: ConsentView) -> Bool { lhs.entriesByPatient == rhs.entriesByPatient }

    package func hash(into hasher: inout Hasher) { hasher.combine(entriesByPatient) }

    package init(from decoder: any Decoder) throws {
        self.init()
        for (patient, entry) in try [String: Entry](from: decoder) { set(entry, for: patient) }
    }

    package func encode(to encoder: any Encoder) throws { try entriesByPatient.encode(to: encoder) }
}
