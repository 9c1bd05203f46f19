import Histogram

/// Percentiles of latency samples, through an HdrHistogram: 3 significant digits (a p99 is off
/// by at most 0.1 %), constant memory however many samples a run records, and the same
/// statistics for every `bench` command.
///
/// Values are in the caller's unit (ms, µs …) and kept to a thousandth of it, from a
/// thousandth up to 3.6 million units (an hour in ms).
package struct LatencyStatistics {
    private var histogram = Histogram<UInt64>(
        highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: .three)

    /// Empty statistics.
    package init() {}

    /// Statistics over `samples`.
    package init(_ samples: some Sequence<Double>) {
        for sample in samples { record(sample) }
    }

    /// Records one sample (negative samples count as 0).
    package mutating func record(_ value: Double) {
        histogram.record(UInt64(max(0, (value * 1000).rounded())))
    }

    /// Samples recorded.
    package var count: Int { Int(histogram.totalCount) }

    /// The value at `fraction` (0…1) of the samples, e.g. 0.99 for p99; 0 without samples.
    package func percentile(_ fraction: Double) -> Double {
        guard count > 0 else { return 0 }
        return Double(histogram.valueAtPercentile(min(100, max(0, fraction * 100)))) / 1000
    }

    /// The largest sample.
    package var maximum: Double { Double(histogram.max) / 1000 }
}
