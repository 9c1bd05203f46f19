import Dispatch
import Synchronization

/// A bounded hand-over of record batches from a consumer's poll thread to one async reader.
///
/// The poll thread blocks (it is a dedicated thread) while `capacity` batches are waiting, so
/// a slow reader bounds memory instead of letting librdkafka's data pile up in Swift.
final class RecordBatchChannel: Sendable {
    private enum Terminal {
        case finished
        case failed(any Error)
    }

    private struct State {
        var buffer: [[KafkaRecord]] = []
        var head = 0
        var waiter: CheckedContinuation<[KafkaRecord]?, any Error>?
        var terminal: Terminal?
        /// Whether a poll thread feeds the channel (the consumer was started).
        var isFed = false
    }

    private let state = Mutex(State())
    private let space: DispatchSemaphore

    init(capacity: Int) {
        // Created at 0 and signalled up: libdispatch traps ("semaphore object deallocated while
        // in use") when a semaphore is released with a value below the one it was created with,
        // which happened whenever a consumer was released with unread batches buffered.
        space = DispatchSemaphore(value: 0)
        for _ in 0..<capacity { space.signal() }
    }

    /// Marks the channel as fed by a poll thread: until then a reader is told, not left waiting.
    func markFed() {
        state.withLock { $0.isFed = true }
    }

    /// Called by the poll thread. Returns `false` when the channel is closed or `stopFlag` set.
    func send(_ batch: [KafkaRecord], stopFlag: StopFlag) -> Bool {
        while space.wait(timeout: .now() + .milliseconds(100)) == .timedOut {
            if stopFlag.isSet { return false }
        }
        let waiter = state.withLock { state -> CheckedContinuation<[KafkaRecord]?, any Error>?? in
            guard state.terminal == nil else { return .none }
            if let waiter = state.waiter {
                state.waiter = nil
                return .some(waiter)
            }
            state.buffer.append(batch)
            return .some(nil)
        }
        switch waiter {
        case .none:
            space.signal()
            return false
        case .some(.some(let waiter)):
            space.signal()
            waiter.resume(returning: batch)
        case .some(.none):
            break
        }
        return true
    }

    /// Ends the stream after the buffered batches (or with `error`). The first call wins.
    func finish(throwing error: (any Error)?) {
        let waiter = state.withLock { state -> CheckedContinuation<[KafkaRecord]?, any Error>? in
            guard state.terminal == nil else { return nil }
            state.terminal = error.map { .failed($0) } ?? .finished
            guard state.head == state.buffer.count else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        if let waiter {
            if let error { waiter.resume(throwing: error) } else { waiter.resume(returning: nil) }
        }
    }

    /// The next batch, or `nil` when finished (or the reading task was cancelled).
    func next() async throws -> [KafkaRecord]? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation {
                (continuation: CheckedContinuation<[KafkaRecord]?, any Error>) in
                enum Outcome {
                    case batch([KafkaRecord])
                    case finished
                    case failed(any Error)
                    case wait
                }
                let outcome = state.withLock { state -> Outcome in
                    if state.head < state.buffer.count {
                        let batch = state.buffer[state.head]
                        state.head += 1
                        if state.head == state.buffer.count {
                            state.buffer.removeAll(keepingCapacity: true)
                            state.head = 0
                        }
                        return .batch(batch)
                    }
                    switch state.terminal {
                    case .finished: return .finished
                    case .failed(let error): return .failed(error)
                    case nil:
                        if Task.isCancelled { return .finished }
                        // Reading a consumer that was never started would wait forever.
                        guard state.isFed else {
                            return .failed(KafkaError(code: .consumerNotStarted, operation: "consume"))
                        }
                        state.waiter = continuation
                        return .wait
                    }
                }
                switch outcome {
                case .batch(let batch):
                    space.signal()
                    continuation.resume(returning: batch)
                case .finished: continuation.resume(returning: nil)
                case .failed(let error): continuation.resume(throwing: error)
                case .wait: break
                }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
    }
}

/// The records of a `KafkaConsumer`, in batches. Iterate it from one task.
package struct KafkaRecordBatches: AsyncSequence, Sendable {
    /// One batch: at most the consumer's `maxBatchSize` records, in the order they were read.
    package typealias Element = [KafkaRecord]
    let channel: RecordBatchChannel

    /// Reads the consumer's one batch channel: iterators of the same sequence share it.
    package struct AsyncIterator: AsyncIteratorProtocol {
        let channel: RecordBatchChannel

        /// The next batch; `nil` once the consumer is closed or the task is cancelled; throws the
        /// consumer's failure (a fatal error or a failed `startingOffsets`).
        package mutating func next() async throws -> [KafkaRecord]? {
            try await channel.next()
        }
    }

    /// An iterator over the consumer's batches.
    package func makeAsyncIterator() -> AsyncIterator { AsyncIterator(channel: channel) }
}
