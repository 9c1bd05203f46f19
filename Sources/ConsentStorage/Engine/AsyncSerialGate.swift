import Synchronization

/// A first-come-first-served async lock: at most one holder at a time, waiters resume in order.
///
/// A store owns one database connection; a transaction is a sequence of awaited statements on
/// it, so two tasks must never interleave their statements (one's COMMIT would commit the
/// other's half-done work). An actor alone does not prevent that because of re-entrancy.
final class AsyncSerialGate: Sendable {
    private struct State {
        var isHeld = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    init() {}

    /// Runs `body` while holding the gate.
    func withGate<R>(_ body: () async throws -> R) async throws -> R {
        await self.acquire()
        defer { self.release() }
        return try await body()
    }

    private func acquire() async {
        let acquiredImmediately = self.state.withLock { state -> Bool in
            if state.isHeld { return false }
            state.isHeld = true
            return true
        }
        if acquiredImmediately { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = self.state.withLock { state -> Bool in
                if state.isHeld {
                    state.waiters.append(continuation)
                    return false
                }
                state.isHeld = true
                return true
            }
            if resumeNow { continuation.resume() }
        }
    }

    private func release() {
        // Hand the gate directly to the next waiter (isHeld stays true) so no one can barge in.
        let next = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.isHeld = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
