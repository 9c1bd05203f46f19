/// Confirms, before what a consumer fetched is acted on, that the Kafka cluster answering now
/// is still the one the process's positions on it were read from.
///
/// A consumer checks its cluster at each assignment (`KafkaConsumerConfiguration.StartingOffsets`),
/// but a cluster replaced behind the same address under a running consumer is not reassigned
/// at once: the consumer goes on fetching from its old positions in the new cluster's logs,
/// skipping their first records (a consent log's withdrawal among them). Asked after a fetch and
/// before its records are decided or applied, a fresh answer from the cluster shows whether
/// those records could have come from another cluster: a record fetched from a replacement
/// was fetched after the replacement, so a question asked after the fetch reaches it too.
package struct KafkaClusterConfirmation: Sendable {
    private let confirm: @Sendable (ContinuousClock.Instant) async throws -> Void

    /// A confirmation that runs `confirm`: it returns once the cluster was found unchanged by a
    /// question asked at or after the instant it is given, and throws otherwise (Kafka's error
    /// when the cluster does not answer, a refusal when it has changed).
    package init(_ confirm: @escaping @Sendable (_ askedAtOrAfter: ContinuousClock.Instant) async throws -> Void) {
        self.confirm = confirm
    }

    /// Returns once a question asked at or after `instant` found the cluster unchanged; throws
    /// when the cluster did not answer (retry) or has changed (stop).
    package func callAsFunction(askedAtOrAfter instant: ContinuousClock.Instant) async throws {
        try await confirm(instant)
    }

    /// Confirms nothing: for consumers outside a process's guard (tools, benchmarks, tests of
    /// other things). Never a parameter's default: whoever does without a confirmation says so.
    package static let unchecked = KafkaClusterConfirmation { _ in }
}
