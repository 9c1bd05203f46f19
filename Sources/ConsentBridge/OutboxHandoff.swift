package import ConsentStorage
import Synchronization

/// Outbox rows the pipelines have just committed, handed straight to the relay so it need
/// not read back (and decode) what was just written.
///
/// The bridge store stays the source of truth: the relay falls back to reading pending rows
/// from the store at start, after an error, when the handoff overflowed, and when idle. See
/// `OutboxRelay` for why the two paths never publish a row twice.
package final class OutboxHandoff: Sendable {
    private struct State {
        var rows: [StoredOutboxRow] = []
        var overflowed = false
    }

    /// What the relay takes.
    package enum Taken: Sendable {
        /// Rows handed since the last take, in sequence order.
        case rows([StoredOutboxRow])
        /// Rows were dropped because the relay fell behind: read the store instead.
        case overflowed
    }

    private let state = Mutex(State())
    /// Wakes the relay when rows are handed.
    package let signal = WakeSignal()
    /// Rows held before further rows are dropped (bounded memory when the relay is stuck).
    package let capacity: Int

    /// An empty handoff holding at most `capacity` rows.
    package init(capacity: Int = 50_000) {
        self.capacity = capacity
    }

    /// Hands committed rows to the relay (call only after their transaction committed).
    package func hand(_ rows: [StoredOutboxRow]) {
        guard !rows.isEmpty else { return }
        state.withLock { state in
            if state.overflowed { return }
            if state.rows.count + rows.count > capacity {
                state.rows = []
                state.overflowed = true
            } else if state.rows.isEmpty {
                state.rows = rows  // the usual case: the relay took the last batch already
            } else {
                state.rows += rows
            }
        }
        signal.notify()
    }

    /// Everything handed since the last take (or that some was dropped), and empties the handoff.
    package func take() -> Taken {
        let (rows, overflowed) = state.withLock { state in
            defer { state = State() }
            return (state.rows, state.overflowed)
        }
        if overflowed { return .overflowed }
        // Two pipelines hand independently, so batches may arrive out of sequence order
        // (rarely: sorting only then spares copying every row).
        if rows.indices.dropFirst().allSatisfy({ rows[$0 - 1].sequence < rows[$0].sequence }) { return .rows(rows) }
        return .rows(rows.sorted { $0.sequence < $1.sequence })
    }
}
