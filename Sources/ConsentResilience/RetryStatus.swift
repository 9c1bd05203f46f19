import ConsentKafka
import ConsentStorage
import Synchronization

/// The retried operations whose last attempt failed, for readiness.
///
/// A pipeline, a sink or the relay retrying a failing store or broker decides nothing
/// meanwhile, and without this the process said so only once the progress watch had seen no
/// progress for 120 s: an outside audit made the bridge's PostgreSQL database read-only, and
/// `/health/ready` kept answering 200 while every batch failed. Each failing `RetryPolicy.run`
/// is listed from its first failed attempt until it succeeds (or stops), with what failed
/// (codes and fixed words, never a message that could quote data).
package final class RetryStatus: Sendable {
    private struct Failing {
        var operation: String
        var reason: String
    }

    private let state = Mutex<(next: Int, failing: [Int: Failing])>((0, [:]))

    package init() {}

    /// `operation: reason` for each run failing now, sorted; empty when none is.
    package var problems: [String] {
        state.withLock { state in
            Set(state.failing.values.map { "\($0.operation): \($0.reason)" }).sorted()
        }
    }

    /// Registers a failing run (`token` nil: the run's first failure) and returns its token.
    func failed(_ token: Int?, operation: String, error: any Error) -> Int {
        let reason = Self.reason(error)
        return state.withLock { state in
            let token = token ?? state.next
            if token == state.next { state.next += 1 }
            state.failing[token] = Failing(operation: operation, reason: reason)
            return token
        }
    }

    /// The run with `token` succeeded or stopped.
    func ended(_ token: Int) {
        _ = state.withLock { $0.failing.removeValue(forKey: token) }
    }

    /// What failed, in words safe to show anyone: a store error's code and its database's
    /// category and SQLSTATE, a Kafka error's name, or the error's type.
    static func reason(_ error: any Error) -> String {
        switch error {
        case let error as StorageError:
            guard let failure = error.databaseFailure else { return "\(error.code)" }
            return "\(error.code), \(failure.category)" + (failure.sqlState.map { " (sqlstate \($0))" } ?? "")
        case let error as KafkaError:
            return "Kafka \(error.code.name)"
        default:
            return "\(type(of: error))"
        }
    }
}
