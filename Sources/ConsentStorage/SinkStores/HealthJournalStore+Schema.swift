extension HealthJournalStore {
    /// The health journal store's migrations; append new versions, never edit applied ones.
    ///
    /// There is deliberately no table for NAV's follow-up documentation (R3).
    static let migrations: [Migration] = [
        Migration(version: 1, name: "health journal store") { engine in
            [
                Migrator.consumerOffsetsTable,
                SinkWriter.sinkRejectionsTable,
                """
                CREATE TABLE consent_history (
                    ce_id TEXT PRIMARY KEY,
                    patient_id TEXT NOT NULL,
                    consent_id TEXT,
                    version BIGINT,
                    status TEXT NOT NULL,
                    document \(engine.bytesType),
                    recorded_at TEXT,
                    source_topic TEXT NOT NULL,
                    partition_id INTEGER NOT NULL,
                    source_offset BIGINT NOT NULL,
                    received_at TEXT NOT NULL)
                """,
                "CREATE INDEX consent_history_patient ON consent_history (patient_id, received_at)",
                """
                CREATE TABLE disclosure_log (
                    \(StoreSQL.disclosureColumnsDDL),
                    ce_id TEXT NOT NULL UNIQUE,
                    received_at TEXT NOT NULL)
                """,
                "CREATE INDEX disclosure_log_subject ON disclosure_log (subject_id, disclosed_at)",
                // Anonymous case reference → patient, so a clinician can tie an anonymous
                // discussion or suggestion to the patient; never leaves the health side.
                """
                CREATE TABLE case_references (
                    case_reference TEXT PRIMARY KEY,
                    patient_id TEXT NOT NULL,
                    first_disclosure_id TEXT NOT NULL,
                    created_at TEXT NOT NULL)
                """,
                """
                CREATE TABLE events_from_nav (
                    \(SinkWriter.eventColumnsDDL(engine)),
                    status TEXT NOT NULL DEFAULT 'awaiting-clinician')
                """,
            ]
                + Migrator.appendOnly("consent_history", engine: engine)
                + Migrator.appendOnly("disclosure_log", engine: engine)
        },
        // The bridge publishes a notice for every withheld disclosure too (R5): the log keeps
        // its status and reason beside the disclosure columns.
        Migration(version: 2, name: "disclosure status") { _ in
            [
                "ALTER TABLE disclosure_log ADD COLUMN status TEXT NOT NULL DEFAULT 'disclosed'",
                "ALTER TABLE disclosure_log ADD COLUMN withheld_reason TEXT",
            ]
        },
        BreachTables.migration(version: 3),
        KafkaClusterBindings.migration(version: 4),
    ]
}
