/// Logging settings; the executable bootstraps swift-log from them once.
package struct LogSettings: Sendable, Hashable {
    /// Log line formats the executable can write.
    package enum Format: String, Sendable, CaseIterable {
        /// Human-readable lines (swift-log's stream handler).
        case text
        /// One JSON object per line, for log shippers.
        case json
    }

    /// swift-log's level names, lowest first.
    package static let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// One of `levels`.
    package var level: String
    /// Line format.
    package var format: Format

    /// Settings as given (the loader validates `level` against `levels`).
    package init(level: String = "info", format: Format = .text) {
        self.level = level
        self.format = format
    }
}
