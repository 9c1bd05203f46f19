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

    /// Applies records read from the consent topic, in order. A record whose key is missing
    /// or differs from the person its body names makes both persons' consent unreadable (fail
    /// closed); returns how many such misaddressed records there were.
    @discardableResult
    package func apply(_ records: [KafkaRecord]) -> Int {
        var misaddressed = 0
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            for record in records {
                state.positions[record.partition] = max(state.positions[record.partition] ?? 0, record.offset + 1)
                // Every entry the record may change is persisted as the view now holds it
                // (state and highest version), so a restart decides exactly as before it.
                var touched: [String] = []
                if let key = record.key, let patient = String(validating: key, as: UTF8.self), !patient.isEmpty {
                    touched.append(patient)
                    if case .unreadable(let error) = state.view.apply(key: patient, value: record.value, schema: schema),
                        error.code == .keyMismatch,
                        let named = record.value.flatMap({ try? StrictJSON.parse($0) })?.objectValue?["patientId"]?
                            .stringValue
                    {
                        touched.append(named)  // the view made the person the body names unreadable too
                        misaddressed += 1
                    }
                } else if let named = state.view.applyKeyless(value: record.value) {
                    touched.append(named)
                    misaddressed += 1
                }
                for patient in touched {
                    if let entry = state.view.entry(for: patient) { state.unsaved[patient] = entry }
                }
            }
            return Self.takeSatisfied(&state)
        }
        for continuation in ready { continuation.resume() }
        return misaddressed
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

    /// Suspends until the view has read each partition up to `required`.
    package func waitUntilRead(upTo required: [Int32: Int64]) async {
        let id = state.withLock { state -> Int in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let isSatisfied = state.withLock { state -> Bool in
                    if Self.satisfies(state.positions, required) { return true }
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
