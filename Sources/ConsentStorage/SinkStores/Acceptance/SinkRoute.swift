import SQLKit

/// A row a sink writes for one record, keyed by `ce_id` in its table.
struct SinkRow {
    var table: String
    var columns: [String]
    var values: [any SQLExpression]
    /// The record's idempotency key (the `ce_id` column of `table`).
    var ceID: String
    /// Rows written only when the main row was new (e.g. a participant seen for the first time).
    var followUps: [SinkFollowUpRow] = []
}

/// A dependent row, inserted unless its unique key already exists.
struct SinkFollowUpRow {
    var table: String
    var columns: [String]
    var values: [any SQLExpression]
}

/// What a sink does with one record.
enum SinkRoute {
    /// Keep it in the side's tables.
    case store(SinkRow)
    /// Refuse it locally (a malformed record of the side's own topics).
    case reject(SinkRejection.Reason)
    /// Refuse it as a breach (R10): it reached the side's inbound topic although the side must
    /// never hold it. It is sealed into `quarantine` and both parties get a breach notice.
    case quarantine(SinkRejection.Reason, rule: String)
}
