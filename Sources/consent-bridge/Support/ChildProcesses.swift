import Foundation

extension Process {
    /// Starts this executable (`consent-bridge`) with `arguments` as a child process; returns it
    /// and the read end of its standard output (the benchmarks' brokers, loads and restores).
    static func consentBridge(_ arguments: [String]) throws -> (process: Process, output: FileHandle) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        return (process, output.fileHandleForReading)
    }

    /// Waits for the process to end without spinning. Foundation's `waitUntilExit` turns a run
    /// loop that polls (a `getpid` and a `gettid` per turn): while a child broker shut down it
    /// was ~8% of a benchmark process's CPU samples.
    func exited() async {
        while isRunning { try? await Task.sleep(for: .milliseconds(10)) }
    }
}

extension FileHandle {
    /// Passes each line (without its `\n`) to `body` as it arrives, until end of file or until
    /// `body` returns false; an unterminated last line is dropped. Blocking: call it off the
    /// cooperative pool. Reads whatever has arrived, not byte by byte (a read and an fstat per
    /// byte were ~5% of a benchmark process's CPU for a 400 KB result line), and searches each
    /// chunk for line ends once.
    func readLines(_ body: (String) -> Bool) {
        var pending: [UInt8] = []
        while case let chunk = availableData, !chunk.isEmpty {
            var lineStart = chunk.startIndex
            for index in chunk.indices where chunk[index] == UInt8(ascii: "\n") {
                pending.append(contentsOf: chunk[lineStart..<index])
                lineStart = index + 1
                let line = String(decoding: pending, as: UTF8.self)
                pending.removeAll(keepingCapacity: true)
                if !body(line) { return }
            }
            pending.append(contentsOf: chunk[lineStart...])
        }
    }
}
