import Synchronization

/// A flag a dedicated thread checks to know when to stop (a class, so closures can share it).
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)

    var isSet: Bool { value.load(ordering: .acquiring) }

    /// Sets the flag; returns `true` only for the first caller.
    @discardableResult
    func set() -> Bool { !value.exchange(true, ordering: .acquiringAndReleasing) }
}

/// A `Mutex` in a class, so escaping closures can share it.
final class LockedBox<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    func withLock<R: Sendable>(_ body: (inout sending Value) -> sending R) -> R {
        mutex.withLock(body)
    }
}
