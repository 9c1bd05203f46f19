/// PostgreSQL statements that give a foreign key's guarantee with one check per statement
/// instead of one per row, for the tables every bridge batch inserts into.
///
/// A foreign key checks each inserted row with a query of its own (its own executor start-up)
/// and locks the row it names: a quarter of a batch write's time (docs/architecture.md). Here:
/// - `referenceChecked`: after each `INSERT` into the child, one query looks up every new row's
///   parent by the parent's key, as a correlated scalar subquery. PostgreSQL runs that as an index
///   probe per new row; it cannot turn it into a join that reads the whole parent table.
/// - `referencesFixed`: the child's reference columns never change once a row is written.
/// - `keptParent`: a parent row is never removed and its key never changes, so the parent a
///   check found stays there (what the foreign key's lock on it ensured).
///
/// Checked like a key: at the end of the statement, so rows inserted by the same statement
/// (or earlier in the transaction) are found; the error names tables and columns, never a value.
enum StatementReferenceChecks {
    /// Every row an `INSERT` puts into `child` whose `column` is not NULL names a row of `parent`
    /// with that `parentKey`; otherwise the statement fails (`foreign_key_violation`).
    static func referenceChecked(child: String, column: String, parent: String, parentKey: String) -> [String] {
        let name = "\(child)_\(column)_recorded"
        return [
            """
            CREATE FUNCTION consent_bridge_\(name)() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF EXISTS (
                    SELECT 1 FROM new_rows n
                    WHERE n.\(column) IS NOT NULL
                        AND (SELECT p.\(parentKey) FROM \(parent) p WHERE p.\(parentKey) = n.\(column)) IS NULL
                ) THEN
                    RAISE EXCEPTION '\(child).\(column) names no recorded row of \(parent)'
                        USING ERRCODE = 'foreign_key_violation';
                END IF;
                RETURN NULL;
            END
            $$
            """,
            """
            CREATE TRIGGER \(name) AFTER INSERT ON \(child) REFERENCING NEW TABLE AS new_rows
                FOR EACH STATEMENT EXECUTE FUNCTION consent_bridge_\(name)()
            """,
        ]
    }

    /// `columns` of `table` keep the values they were written with.
    static func referencesFixed(_ table: String, columns: [String]) -> [String] {
        [
            """
            CREATE OR REPLACE FUNCTION consent_bridge_references_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'the references of table % never change', TG_TABLE_NAME
                    USING ERRCODE = 'restrict_violation';
            END
            $$
            """,
            """
            CREATE TRIGGER \(table)_references_fixed BEFORE UPDATE OF \(columns.joined(separator: ", ")) ON \(table)
                FOR EACH ROW EXECUTE FUNCTION consent_bridge_references_fixed()
            """,
        ]
    }

    /// Rows of `table` are never removed and their `key` never changes (other columns may).
    static func keptParent(_ table: String, key: String) -> [String] {
        [
            """
            CREATE OR REPLACE FUNCTION consent_bridge_kept_parent() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'rows of table % are named by other tables: never removed, key never changed',
                    TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
            END
            $$
            """,
            """
            CREATE TRIGGER \(table)_kept BEFORE UPDATE OF \(key) OR DELETE ON \(table)
                FOR EACH ROW EXECUTE FUNCTION consent_bridge_kept_parent()
            """,
            """
            CREATE TRIGGER \(table)_kept_whole BEFORE TRUNCATE ON \(table)
                FOR EACH STATEMENT EXECUTE FUNCTION consent_bridge_kept_parent()
            """,
        ]
    }
}
