import Foundation

/// Human-readable benchmark lines: on standard output, or on standard error with `--json`
/// (standard output then carries the JSON line alone).
struct BenchOutput {
    let json: Bool

    func line(_ text: String) {
        if json {
            FileHandle.standardError.write(Data((text + "\n").utf8))
        } else {
            print(text)
        }
    }
}
