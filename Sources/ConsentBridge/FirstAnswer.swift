import Synchronization

/// A value set once, by whichever answer comes first, handed to the one waiter: it may come
/// before the waiter waits (a task cancelled before its wait began).
package final class FirstAnswer<Value: Sendable>: Sendable {
    private enum Phase {
        /// No outcome yet; the waiter once it waits.
        case waiting(CheckedContinuation<Value, Never>?)
        case resolved(Value)
    }
    private let phase = Mutex<Phase>(.waiting(nil))

    /// An answer not yet given, no one waiting.
    package init() {}

    /// Resumes `continuation` with the outcome: now if there is one, else once there is.
    package func await(_ continuation: CheckedContinuation<Value, Never>) {
        let now: Phase = phase.withLock { phase in
            if case .waiting = phase { phase = .waiting(continuation) }
            return phase
        }
        if case .resolved(let value) = now { continuation.resume(returning: value) }
    }

    /// Sets the outcome unless one is set, and resumes the waiter if it waits.
    package func resolve(_ value: Value) {
        let waiter: CheckedContinuation<Value, Never>?? = phase.withLock { phase in
            guard case .waiting(let waiter) = phase else { return .none }
            phase = .resolved(value)
            return .some(waiter)
        }
        if case .some(.some(let waiter)) = waiter { waiter.resume(returning: value) }
    }
}
