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
