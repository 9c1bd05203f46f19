extension NavSystemStore {
    /// The NAV case store's migrations; append new versions, never edit applied ones.
    static let migrations: [Migration] = [
        Migration(version: 1, name: "nav case store") { engine in
            [
                Migrator.consumerOffsetsTable,
                SinkWriter.sinkRejectionsTable,
                """
                CREATE TABLE participants (
                    participant_key TEXT PRIMARY KEY,
                    first_ce_id TEXT NOT NULL,
                    registered_at TEXT NOT NULL)
                """,
                "CREATE TABLE events_from_health (\(SinkWriter.eventColumnsDDL(engine)))",
                "CREATE INDEX events_from_health_subject ON events_from_health (subject_key)",
                // NAV's own work follow-up documentation (R3: it lives here, never in the journal).
                "CREATE TABLE follow_up_documentation (\(SinkWriter.eventColumnsDDL(engine)))",
                "CREATE INDEX follow_up_documentation_subject ON follow_up_documentation (subject_key)",
                """
                CREATE TABLE disclosure_log (
                    \(StoreSQL.disclosureColumnsDDL),
                    ce_id TEXT NOT NULL UNIQUE,
                    received_at TEXT NOT NULL)
                """,
                "CREATE INDEX disclosure_log_subject ON disclosure_log (subject_id, disclosed_at)",
            ]
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
        // Notices about what NAV sent say `as-consented` instead of the form that crossed (R15:
        // the form tells NAV about the EPJ consent); the log's check admits it.
        Migration(
            version: 4, name: "notices in the form told to NAV",
            sqliteSchemaRewrites: [
                SQLiteSchemaRewrite(
                    table: "disclosure_log", text: "CHECK (form IN ('identified', 'anonymous'))",
                    replacement: "CHECK (form IN ('identified', 'anonymous', 'as-consented'))")
            ],
            statements: { engine in
                engine == .postgres
                    ? [
                        "ALTER TABLE disclosure_log DROP CONSTRAINT disclosure_log_form_check, "
                            + "ADD CONSTRAINT disclosure_log_form_check CHECK (form IN ('identified', 'anonymous', 'as-consented'))"
                    ] : []
            }
        ),
        KafkaClusterBindings.migration(version: 5),
    ]
}
