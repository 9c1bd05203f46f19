package import ConsentContracts

/// What applying one sink batch did.
package struct SinkBatchResult: Sendable, Hashable {
    /// Records newly stored.
    package var stored: Int
    /// Records whose `ce_id` was already stored (re-published or re-consumed): nothing written.
    package var duplicates: Int
    /// Records below the stored offset (already applied by an earlier batch): skipped.
    package var alreadyApplied: Int
    /// Records refused, with reasons (also kept in the store's `sink_rejections`).
    package var rejections: [SinkRejection]
    /// The offsets stored with the batch.
    package var offsets: [ConsumerOffset]
    /// Records newly quarantined as breaches (R10), their notices queued in the breach outbox.
    package var breaches: [BreachNotice] = []
    /// Breach notices received on the side's breach topic and newly filed in `breach_log`.
    package var breachNoticesReceived: Int = 0
}
