package import ConsentConfiguration
import ConsentContracts
import Foundation
package import Logging
import SQLKit

/// The store of one NAV system (docs/rules.md R3, R9): NAV's case store (the veileder's) or the
/// IPS job specialist's follow-up store, each its own database with the same tables: IPS
/// participants, events received from health, the system's own follow-up documentation and
/// its disclosure log. Which one it is follows from its policy (`NavSinkPolicy.kind`).
///
/// Its only write path is the NAV sink (`apply(_:)`).
package final class NavSystemStore: Sendable {
    /// The open database.
    package let database: StoreDatabase
    /// What the sink accepts.
    package let policy: NavSinkPolicy
    /// How the sink quarantines and reports breaches (R10); nil for a store opened to read.
    package let breaches: BreachReporting?
    private let logger: Logger

    private init(database: StoreDatabase, policy: NavSinkPolicy, breaches: BreachReporting?, logger: Logger) {
        self.database = database
        self.policy = policy
        self.breaches = breaches
        self.logger = logger
    }

    /// Opens (and migrates) the store of the NAV system `policy` describes at `location`; a
    /// database made for the other NAV system is refused.
    package static func open(
        _ location: StoreLocation, policy: NavSinkPolicy = .standard, breaches: BreachReporting? = nil, logger: Logger
    ) async throws(StorageError) -> NavSystemStore {
        let database = try await StoreDatabase.open(location, logger: logger)
        do throws(StorageError) {
            try await Migrator.migrate(database, kind: policy.kind, migrations: Self.migrations, logger: logger)
        } catch {
            await database.close()
            throw error
        }
        return NavSystemStore(database: database, policy: policy, breaches: breaches, logger: logger)
    }

    /// Closes the connection.
    package func close() async {
        await self.database.close()
    }

    /// Applies one NAV-sink batch and its offsets in one transaction, idempotent by `ce_id`.
    package func apply(_ batch: SinkBatch) async throws(StorageError) -> SinkBatchResult {
        let policy = self.policy
        return try await SinkWriter.apply(
            batch, to: self.database, kind: policy.kind, breaches: self.breaches, logger: self.logger
        ) { record, now in
            Self.route(record, policy: policy, now: now)
        }
    }

    /// Decides where a consumed record goes (pure: no I/O).
    static func route(_ record: SinkRecord, policy: NavSinkPolicy, now: Date) -> SinkRoute {
        switch record.topic {
        case policy.inboundTopic, policy.ownOutboundTopic:
            let isInbound = record.topic == policy.inboundTopic
            // Only the bridge writes the inbound topic: whatever NAV cannot accept there has
            // crossed wrongly, and is a breach to quarantine and report (R10). NAV's own topic
            // is NAV's documentation: a malformed record there is refused locally.
            func refuse(_ reason: SinkRejection.Reason) -> SinkRoute {
                isInbound ? .quarantine(reason, rule: "R8") : .reject(reason)
            }
            guard let value = record.value else { return refuse(.unexpectedTombstone) }
            guard let ceID = record.ceID, let ceType = record.ceType else { return refuse(.missingCloudEventHeaders) }
            let accepted = isInbound ? policy.acceptedInboundTypes : policy.ownDocumentationTypes
            guard accepted.contains(ceType) else { return refuse(.unacceptedEventType) }
            if isInbound {
                switch SinkWriter.checkContract(value, ceType: ceType, schemas: policy.inboundSchemas) {
                case .breach(let breach):
                    return breach
                case .valid(let body):
                    // Valid against the contract is not enough: the contract describes every
                    // role's copy, and this role may not hold all of it (R13).
                    if policy.holdsNotReceivableField(body, ceType: ceType) {
                        return .quarantine(.notForRecipientRole, rule: "R13")
                    }
                case .notChecked:
                    break
                }
            }
            var row = SinkWriter.eventRow(
                table: isInbound ? "events_from_health" : "follow_up_documentation",
                record: record, ceID: ceID, ceType: ceType, payload: value, now: now)
            if isInbound, policy.participantRegisteringTypes.contains(ceType), let participant = record.keyText {
                row.followUps.append(
                    SinkFollowUpRow(
                        table: "participants",
                        columns: ["participant_key", "first_ce_id", "registered_at"],
                        values: [SQLBind(participant), SQLBind(ceID), StoreSQL.time(now)]
                    ))
            }
            return .store(row)
        case policy.disclosuresTopic:
            guard let value = record.value else { return .reject(.unexpectedTombstone) }
            guard let ceID = record.ceID, let ceType = record.ceType else { return .reject(.missingCloudEventHeaders) }
            guard ceType == DisclosureNotice.ceType else { return .reject(.unacceptedEventType) }
            guard let disclosure = SinkWriter.disclosure(from: value, schema: policy.disclosureSchema),
                disclosure.direction == "nav-to-health",
                let row = SinkWriter.disclosureRow(disclosure, ceID: ceID, now: now)
            else {
                return .reject(.invalidBody)
            }
            return .store(row)
        case policy.breachesTopic:
            return SinkWriter.breachLogRoute(record, schema: policy.breachSchema, now: now)
        default:
            return .reject(.unexpectedTopic)
        }
    }

    // MARK: Reads

    /// Participant keys, in key order.
    package func participants() async throws(StorageError) -> [String] {
        try await self.database.read { sql in
            try await sql.raw("SELECT participant_key FROM participants ORDER BY participant_key").all().map {
                try $0.decode(column: "participant_key", as: String.self)
            }
        }
    }

    /// Events received from health, oldest first.
    package func eventsFromHealth(limit: Int = 1000) async throws(StorageError) -> [ReceivedEvent] {
        try await self.database.read { sql in
            try await sql.raw(
                "SELECT * FROM events_from_health ORDER BY received_at, ce_id LIMIT \(unsafeRaw: String(max(0, limit)))"
            )
            .all().map(SinkWriter.decodeEvent)
        }
    }

    /// What the system published about one participant on its own outbound topic, oldest first:
    /// its documentation, both the events it sends the health service and those that never
    /// cross (`NavSinkPolicy.neverSharedTypes`).
    package func followUpDocumentation(participantKey: String) async throws(StorageError) -> [ReceivedEvent] {
        try await self.database.read { sql in
            try await sql.raw(
                """
                SELECT * FROM follow_up_documentation WHERE subject_key = \(bind: participantKey)
                ORDER BY source_topic, partition_id, source_offset
                """
            ).all().map(SinkWriter.decodeEvent)
        }
    }

    /// What NAV disclosed about one participant, oldest first.
    package func disclosures(participantID: String) async throws(StorageError) -> [DisclosureRecord] {
        try await self.database.read { sql in
            try await sql.raw(
                "SELECT * FROM disclosure_log WHERE subject_id = \(bind: participantID) ORDER BY disclosed_at, disclosure_id"
            )
            .all().map(StoreSQL.decodeDisclosure)
        }
    }
}
