import Foundation

/// A command's readable lines: on standard output, or on standard error with `--json`, where
/// standard output carries the JSON alone (the benchmarks, the demo).
struct ReadableOutput: Sendable {
    let json: Bool

    func line(_ text: String) {
        if json {
            FileHandle.standardError.write(Data((text + "\n").utf8))
        } else {
            print(text)
            fflush(nil)  // a live line shows at once, also through a pipe
        }
    }
}
