package import ConsentContracts
package import ConsentKafka
package import ConsentPolicy
import Synchronization

/// The bridge's in-memory consent view and how far into `health.consent` it has read.
///
/// The consent gate waits here until the view has read every consent partition up to given
/// positions, so that a consent change appended before an event is seen when that event is
/// decided (R5). Lookups take the lock briefly, once per event.
package final class ConsentViewKeeper: Sendable, ConsentLookup {
    private struct Waiter {
        var required: [Int32: Int64]
        var continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var view = ConsentView()
        /// Next offset to read, per partition of the consent topic.
        var positions: [Int32: Int64] = [:]
        var waiters: [Int: Waiter] = [:]
        var nextWaiterID = 0
        /// Entries changed since they were last persisted, by patient key.
        var unsaved: [String: ConsentView.Entry] = [:]
    }

    private let state = Mutex(State())
    /// The consent contract records are read with (also to restore persisted rows).
    package let schema: JSONSchema

    /// An empty view, with no positions, that reads records against `consentSchema`.
    package init(consentSchema: JSONSchema) {
        schema = consentSchema
    }

    /// The consent state for one patient, as of the records read so far.
    package func state(for patientID: String) -> ConsentState {
        state.withLock { $0.view.state(for: patientID) }
    }

    /// How many persons the view holds an entry for.
    package var patientCount: Int { state.withLock { $0.view.count } }

    /// Positions read so far (next offset per partition).
    package var positions: [Int32: Int64] { state.withLock { $0.positions } }

    /// What was wrong with the consent records one `apply` read (counts only: never who).
    package struct Anomalies: Sendable, Hashable {
        /// Records without a key or under another person's key than the one their body names.
        package var misaddressed = 0
        /// Records (not tombstones) without the consent contract's CloudEvents envelope.
        package var withoutEnvelope = 0
    }

    /// Applies records read from the consent topic, in order. A record whose key is missing
    /// or differs from the person its body names makes both persons' consent unreadable (fail
    /// closed), and so does a record without the consent contract's envelope
    /// (`CloudEventHeaders.isConsentEnvelope`): the journal does not hold it as a consent, so the
    /// bridge must not disclose under it (R4, R5). Returns how many of each there were.
    @discardableResult
    package func apply(_ records: [KafkaRecord]) -> Anomalies {
        var anomalies = Anomalies()
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            for record in records {
                state.positions[record.partition] = max(state.positions[record.partition] ?? 0, record.offset + 1)
                // Every entry the record may change is persisted as the view now holds it
                // (state and highest version), so a restart decides exactly as before it.
                var touched: [String] = []
                if let key = record.key, let patient = String(validating: key, as: UTF8.self), !patient.isEmpty {
                    touched.append(patient)
                    if let value = record.value, !Self.hasConsentEnvelope(record) {
                        // No consent for the key's person, nor for another person the body names
                        // (it may be their withdrawal); a correctly sent record brings it back.
                        anomalies.withoutEnvelope += 1
                        state.view.applyUnreadable(patientID: patient)
                        if let named = Self.namedPatient(value), named != patient {
                            state.view.applyUnreadable(patientID: named)
                            touched.append(named)
                        }
                    } else if case .unreadable(let error) = state.view.apply(
                        key: patient, value: record.value, schema: schema),
                        error.code == .keyMismatch,
                        let named = record.value.flatMap(Self.namedPatient)
                    {
                        touched.append(named)  // the view made the person the body names unreadable too
                        anomalies.misaddressed += 1
                    }
                } else if let named = state.view.applyKeyless(value: record.value) {
                    touched.append(named)
                    anomalies.misaddressed += 1
                }
                for patient in touched {
                    if let entry = state.view.entry(for: patient) { state.unsaved[patient] = entry }
                }
            }
            return Self.takeSatisfied(&state)
        }
        for continuation in ready { continuation.resume() }
        return anomalies
    }

    /// Whether a consent record carries the consent contract's envelope.
    private static func hasConsentEnvelope(_ record: KafkaRecord) -> Bool {
        var envelope = CloudEventHeaders.Reader()
        for header in record.headers { envelope.read(name: header.name, value: header.value ?? []) }
        return envelope.headers.isConsentEnvelope
    }

    /// The person a consent record's body names (`patientId`), if its JSON can be read that far.
    private static func namedPatient(_ value: [UInt8]) -> String? {
        guard let named = (try? StrictJSON.parse(value))?.objectValue?["patientId"]?.stringValue, !named.isEmpty
        else { return nil }
        return named
    }

    /// Restores a persisted view: entries as they were decided, positions as saved.
    package func restore(entries: [(patient: String, entry: ConsentView.Entry)], positions: [Int32: Int64]) {
        state.withLock { state in
            for (patient, entry) in entries { state.view.restore(entry, for: patient) }
            state.positions = positions
        }
    }

    /// Makes room for `count` persons before a restore.
    package func reserveCapacity(_ count: Int) {
        state.withLock { $0.view.reserveCapacity(count) }
    }

    /// Takes the entries not yet persisted, with the positions they bring the view to.
    package func takeUnsaved() -> (entries: [String: ConsentView.Entry], positions: [Int32: Int64]) {
        state.withLock { state in
            defer { state.unsaved.removeAll() }
            return (state.unsaved, state.positions)
        }
    }

    /// Puts back entries whose persisting failed, unless newer ones arrived meanwhile.
    package func returnUnsaved(_ entries: [String: ConsentView.Entry]) {
        state.withLock { state in
            for (patient, entry) in entries where state.unsaved[patient] == nil { state.unsaved[patient] = entry }
        }
    }

    /// Whether the view has read each partition up to `required` (next offsets).
    package func hasRead(upTo required: [Int32: Int64]) -> Bool {
        state.withLock { Self.satisfies($0.positions, required) }
    }

    /// Partitions (sorted) the view has read past the given log ends: a view's position is one
    /// past the last offset it applied, so it never exceeds the log end of the log it read.
    package func partitionsReadBeyond(_ logEnds: [Int32: Int64]) -> [Int32] {
        state.withLock { state in
            logEnds.filter { partition, end in (state.positions[partition] ?? 0) > end }.keys.sorted()
        }
    }

    /// Suspends until the view has read each partition up to `required`.
    package func waitUntilRead(upTo required: [Int32: Int64]) async {
        let id = state.withLock { state -> Int in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let isSatisfied = state.withLock { state -> Bool in
                    // Cancelled before the waiter is registered, the handler below found nothing
                    // to resume: the waiter would wait for the view, however long that takes.
                    if Self.satisfies(state.positions, required) || Task.isCancelled { return true }
                    state.waiters[id] = Waiter(required: required, continuation: continuation)
                    return false
                }
                if isSatisfied { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.continuation.resume()
        }
    }

    private static func satisfies(_ positions: [Int32: Int64], _ required: [Int32: Int64]) -> Bool {
        required.allSatisfy { partition, offset in offset <= 0 || (positions[partition] ?? 0) >= offset }
    }

    private static func takeSatisfied(_ state: inout State) -> [CheckedContinuation<Void, Never>] {
        var ready: [CheckedContinuation<Void, Never>] = []
        for (id, waiter) in state.waiters where satisfies(state.positions, waiter.required) {
            ready.append(waiter.continuation)
            state.waiters.removeValue(forKey: id)
        }
        return ready
    }
}
