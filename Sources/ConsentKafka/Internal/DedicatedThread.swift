import CRdKafka
import Dispatch
import Foundation
import Synchronization

/// A long-lived OS thread that runs blocking librdkafka calls one at a time.
///
/// librdkafka's blocking calls (metadata, watermark queries, flush, destroy) must never run on
/// Swift's cooperative pool: on two cores a couple of them stall every other task. Each client
/// owns one of these, so its blocking calls neither block the pool nor each other's clients.
final class DedicatedThread: Sendable {
    private struct State {
        var jobs: [@Sendable () -> Void] = []
        var isStopped = false
    }

    private let state = Mutex(State())
    private let wakeUp = DispatchSemaphore(value: 0)

    init(name: String) {
        let thread = Thread { [self] in
            // From inside the thread, as the consumer's and producer's threads do: Foundation's
            // `Thread.name` did not reliably reach the system on Linux.
            consent_name_current_thread(name)
            self.runLoop()
        }
        thread.start()
    }

    /// Runs `body` on the dedicated thread and returns its result. Once the thread is stopped
    /// (its client closed) `body` does not run and `operation` fails with `clientClosed`: the
    /// blocking calls use the client's handle, which is then destroyed or about to be.
    func run<T: Sendable>(_ operation: String, _ body: @escaping @Sendable () -> T) async throws(KafkaError) -> T {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
            let accepted = state.withLock { state -> Bool in
                guard !state.isStopped else { return false }
                state.jobs.append { continuation.resume(returning: body()) }
                return true
            }
            if accepted {
                wakeUp.signal()
            } else {
                continuation.resume(returning: nil)
            }
        }
        guard let result else { throw KafkaError(code: .clientClosed, operation: operation) }
        return result
    }

    /// Runs `body` on a thread of its own that ends once `body` returns: for a client's last
    /// blocking call (destroy), after its own thread has stopped. (A thread made for that and
    /// never stopped waited forever: one thread per closed client.)
    static func runOnce<T: Sendable>(name: String, _ body: @escaping @Sendable () -> T) async -> T {
        let thread = DedicatedThread(name: name)
        let result = try? await thread.run(name, body)
        await thread.stop()
        return result!  // a thread just made is not stopped: `body` ran
    }

    /// Takes no more jobs, and returns once those already taken have run (the thread then
    /// ends). A client's close waits here before destroying the handle: a watermark query still
    /// running when the process shut down (a pipeline defect stopping every service at once)
    /// met the destroyed handle and crashed the process inside librdkafka.
    func stop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let wasRunning = state.withLock { state -> Bool in
                guard !state.isStopped else { return false }
                state.isStopped = true
                state.jobs.append { continuation.resume() }  // runs after every job taken before
                return true
            }
            if wasRunning { wakeUp.signal() } else { continuation.resume() }
        }
    }

    private func runLoop() {
        while true {
            let (jobs, isStopped) = state.withLock { state in
                defer { state.jobs.removeAll() }
                return (state.jobs, state.isStopped)
            }
            if jobs.isEmpty {
                if isStopped { return }
                wakeUp.wait()
                continue
            }
            for job in jobs { job() }
        }
    }
}
