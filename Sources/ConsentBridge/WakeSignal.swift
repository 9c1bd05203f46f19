import Synchronization

/// Wakes a waiting loop when there is new work (the relay after a recorded batch, the consent
/// view persister after applied records), or lets it wait at most a timeout.
///
/// One waiter at a time. The waiter's continuation is resumed exactly once, by whichever comes
/// first of `notify`, its timer and its task's cancellation; each finds it through the state,
/// under the lock (the timer by its ticket). (An earlier version raced a waiting child task against a sleeping one in a task
/// group. When the sleeping child finished before the waiting child had registered, the waiting
/// child registered afterwards and waited for a notification that never came, and the group
/// waited for it. Cancellation made that likely: at shutdown the sleeping child returned at
/// once, so the relay hung, and shutdown behind it. The PostgreSQL tests' intermittent hangs
/// were that: the shared store's relay waits every 20 ms, so shutdown found it waiting.)
package final class WakeSignal: Sendable {
    private struct Waiter {
        var ticket: UInt64
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var isPending = false
        var waiter: Waiter?
        var lastTicket: UInt64 = 0
    }

    private let state = Mutex(State())

    /// A signal with no notification pending.
    package init() {}

    /// Marks new work and wakes a waiting loop.
    package func notify() {
        let waiter = state.withLock { state -> Waiter? in
            state.isPending = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.continuation.resume(returning: true)
    }

    /// Returns when notified (or at once if a notification is pending) or after `timeout`, or
    /// at once when the waiting task is cancelled (shutdown); `true` when notified. A
    /// notification is consumed by the wait that returns with it.
    @discardableResult
    package func wait(timeout: Duration) async -> Bool {
        let notified = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let (ticket, earlier) = state.withLock { state -> (UInt64?, Waiter?) in
                    if state.isPending { return (nil, nil) }
                    // One waiter at a time is the rule; an earlier one, if any, returns as
                    // notified rather than wait forever.
                    let earlier = state.waiter
                    state.lastTicket &+= 1
                    state.waiter = Waiter(ticket: state.lastTicket, continuation: continuation)
                    return (state.lastTicket, earlier)
                }
                earlier?.continuation.resume(returning: true)
                guard let ticket else {
                    continuation.resume(returning: true)
                    return
                }
                // Cancelled before the wait was registered: the handler below found nothing.
                if Task.isCancelled {
                    self.expire(ticket)
                    return
                }
                // Unstructured on purpose: it fires whatever happens to the waiting task, and
                // finds nothing to resume if a notification came first.
                Task { [self] in
                    try? await Task.sleep(for: timeout)
                    self.expire(ticket)
                }
            }
        } onCancel: {
            self.expire(nil)
        }
        state.withLock { $0.isPending = false }
        return notified
    }

    /// Resumes the waiter `ticket` (any waiter: nil) as not notified, if it is still waiting.
    private func expire(_ ticket: UInt64?) {
        let waiter = state.withLock { state -> Waiter? in
            guard let waiter = state.waiter, ticket == nil || waiter.ticket == ticket else { return nil }
            state.waiter = nil
            return waiter
        }
        waiter?.continuation.resume(returning: false)
    }
}
