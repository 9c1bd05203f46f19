/// Limits the strict parser enforces before any other processing (fail closed on hostile input).
package struct JSONParseLimits: Sendable, Hashable {
    /// Deepest allowed nesting of arrays and objects (the top-level container is depth 1).
    package var maxDepth: Int = 32
    /// Largest accepted body in bytes.
    package var maxBytes: Int = 256 * 1024

    /// Limits with explicit values.
    package init(maxDepth: Int = 32, maxBytes: Int = 256 * 1024) {
        self.maxDepth = maxDepth
        self.maxBytes = maxBytes
    }

    /// Depth 32, 256 KiB: what the bridge applies to every event body.
    package static let `default` = JSONParseLimits()
}
