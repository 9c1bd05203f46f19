import ConsentBridge
import Foundation
import Synchronization
import Testing

/// The signal the relay and the consent view's persister wait on between batches: a wait
/// returns when notified or when its timeout passes. (The bounds on elapsed time are far from
/// the timeouts: they tell a wait that was woken from one that ran out its 10 minutes, on a
/// machine as busy as the test run makes it.)
@Suite("Wake signal", .timeLimit(.minutes(2)))
struct WakeSignalTests {
    @Test("a notification given before the wait is not lost: the wait returns at once, notified")
    func pendingNotificationReturnsAtOnce() async {
        let signal = WakeSignal()
        signal.notify()
        let start = ContinuousClock.now
        let notified = await signal.wait(timeout: .seconds(600))
        #expect(notified)
        #expect(ContinuousClock.now - start < .seconds(300))
        // Consumed: the next wait times out.
        #expect(await signal.wait(timeout: .milliseconds(20)) == false)
    }

    @Test("a waiting loop is woken by a notification long before its timeout")
    func notificationWakesTheWaiter() async {
        let signal = WakeSignal()
        let start = ContinuousClock.now
        async let notified = signal.wait(timeout: .seconds(600))
        try? await Task.sleep(for: .milliseconds(50))
        signal.notify()
        #expect(await notified)
        #expect(ContinuousClock.now - start < .seconds(300))
    }

    @Test("without a notification the wait ends by its timeout")
    func waitEndsByTimeout() async {
        let signal = WakeSignal()
        let start = ContinuousClock.now
        #expect(await signal.wait(timeout: .milliseconds(100)) == false)
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(100))
    }

    /// Shutdown cancels the loop that waits. The wait must come back at once, whatever order
    /// the jobs involved run in: Swift promises no order between a task's children, so they run
    /// here on an executor that takes the newest job first. (The task-group version hung so:
    /// its timer child, cancelled, finished before its waiting child had registered.)
    @Test("a cancelled wait returns at once, in whatever order its jobs run")
    func cancelledWaitsReturn() async throws {
        let executor = NewestJobFirstExecutor()
        for cancelledBefore in [true, false] {
            let signal = WakeSignal()
            let outcome = Mutex<Bool?>(nil)
            let waiting = Task(executorPreference: executor) {
                if cancelledBefore { withUnsafeCurrentTask { $0?.cancel() } }
                let notified = await signal.wait(timeout: .seconds(600))
                outcome.withLock { $0 = notified }
            }
            if !cancelledBefore {
                try await Task.sleep(for: .milliseconds(20))
                waiting.cancel()
            }
            // Watched, not awaited: a wait that never returns fails the test instead of hanging it.
            let deadline = ContinuousClock.now + .seconds(60)
            while outcome.withLock({ $0 }) == nil, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(outcome.withLock { $0 } == false, "cancelled \(cancelledBefore ? "before" : "during") the wait")
        }
        executor.stop()
    }
}

/// A task executor on a thread of its own that runs the job enqueued last first.
private final class NewestJobFirstExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var isStopping = false

    init() {
        Thread { [self] in
            while true {
                condition.lock()
                while jobs.isEmpty && !isStopping { condition.wait() }
                guard let job = jobs.popLast() else {
                    condition.unlock()
                    return
                }
                condition.unlock()
                job.runSynchronously(on: asUnownedTaskExecutor())
            }
        }.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    func stop() {
        condition.lock()
        isStopping = true
        condition.signal()
        condition.unlock()
    }
}
