/// One versioned schema change of a store; its statements may differ per engine.
struct Migration: Sendable {
    /// Strictly increasing, starting at 1; recorded in `schema_migrations`.
    let version: Int
    /// Short name, for operators.
    let name: String
    /// The statements, one per call (PostgreSQL's extended protocol takes one statement at a time).
    let statements: @Sendable (SQLEngine) -> [String]
}
