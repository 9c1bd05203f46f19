extension Duration {
    /// The duration in seconds, as a `TimeInterval` (for `Date` arithmetic and rates).
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
