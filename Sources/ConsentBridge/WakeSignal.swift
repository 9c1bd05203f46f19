import Synchronization

/// Wakes a waiting loop when there is new work (the relay after a recorded batch, the consent
/// view persister after applied records), or lets it wait at most a timeout.
package final class WakeSignal: Sendable {
    private struct State {
        var isPending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    /// A signal with no notification pending.
    package init() {}

    /// Marks new work and wakes a waiting relay.
    package func notify() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.isPending = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Returns when notified (or at once if a notification is pending) or after `timeout`;
    /// `true` when notified.
    @discardableResult
    package func wait(timeout: Duration) async -> Bool {
        let notified = await withTaskGroup(of: Bool.self) { group in
            group.addTask { [self] in
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state -> Bool in
                        if state.isPending || state.waiter != nil { return true }
                        state.waiter = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
                return true
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            // Release whichever child is still waiting.
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
            group.cancelAll()
            return first
        }
        state.withLock { $0.isPending = false }
        return notified
    }
}
