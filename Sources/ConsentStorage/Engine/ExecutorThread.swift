import CSQLite
import Foundation
import Synchronization

/// A thread of its own, used as a task executor: what prefers it runs there, off Swift's
/// cooperative pool (two threads on a two-core machine).
///
/// Each store's transactions prefer one (a PostgreSQL store's too: see `StoreDatabase.open`).
/// SQLite calls block: run on the pool, a 30 ms batch commit would stall every other task;
/// hopped to a thread pool once per statement (as sqlite-nio does) a batch pays dozens of hops.
/// Under this executor's preference a whole transaction, SQLKit and all, runs here in one go.
///
/// Each pipeline decides on one too (`EventPipeline.run`): deciding a batch is 15-30 ms of CPU
/// with no suspension point, and on the pool it held one of the two threads that long.
package final class ExecutorThread: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var isStopping = false
    private var hasExited = false
    /// The thread's id, set before it runs its first job (read-only afterwards).
    private let threadID = Mutex<pthread_t?>(nil)

    package init(name: String) {
        let thread = Thread { [self] in
            // Named from inside, by the system call: on Linux, Foundation applies a name set before
            // `start` only to the `Thread` object, and `Thread.current.name` from inside reached
            // the system thread (what `top -H`, perf and `/proc` show) in only some runs.
            consent_sqlite_name_current_thread(String(name.prefix(15)))
            self.threadID.withLock { $0 = pthread_self() }
            self.loop()
        }
        thread.start()
    }

    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        self.condition.lock()
        if self.hasExited {
            self.condition.unlock()
            // Stopped (store closed): a late job still runs, on the shared pool. It finds
            // the store closed and fails with `.closed` instead of waiting forever.
            globalConcurrentExecutor.enqueue(job)
            return
        }
        self.jobs.append(job)
        self.condition.signal()
        self.condition.unlock()
    }

    /// Whether the caller runs on this thread.
    var isCurrent: Bool {
        guard let id = self.threadID.withLock({ $0 }) else { return false }
        return pthread_equal(id, pthread_self()) != 0
    }

    /// Lets the thread finish the jobs it has and exit.
    package func stop() {
        self.condition.lock()
        self.isStopping = true
        self.condition.signal()
        self.condition.unlock()
    }

    private func loop() {
        while true {
            self.condition.lock()
            while self.jobs.isEmpty && !self.isStopping { self.condition.wait() }
            if self.jobs.isEmpty {
                self.hasExited = true
                self.condition.unlock()
                return
            }
            let ready = self.jobs
            self.jobs.removeAll(keepingCapacity: true)
            self.condition.unlock()
            for job in ready { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
        }
    }
}
