package import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A child process for tests, started with `posix_spawn`.
///
/// Foundation's `Process.run()` on Linux (Swift 6.3.1) crashes now and then: it lists
/// `/proc/self/fd` and copies each entry's whole 256-byte `d_name`, reading past the end of
/// readdir's buffer when an entry sits at its tail (swift-corelibs-foundation pull request 5472,
/// merged after 6.3.1). A test process with many sockets open hit it in CI ("Bad pointer
/// dereference" in `Process.run`). This does what the tests need without it: arguments and
/// environment, standard input from bytes, standard output to a pipe, standard error to a file
/// or nowhere, every other descriptor closed in the child, and the exit status.
package final class SpawnedProcess: Sendable {
    /// The child's process id.
    package let processIdentifier: pid_t
    /// The read end of the child's standard output.
    package let output: FileHandle
    /// The child's wait status once reaped (`nil` while it runs).
    private let status = Mutex<Int32?>(nil)

    /// How the child ended.
    package enum Termination: Sendable, Equatable {
        /// It exited with this status.
        case exit(Int32)
        /// A signal ended it.
        case signal(Int32)
    }

    /// Why the child could not be started (the `errno` of the failing call).
    package struct SpawnError: Error, CustomStringConvertible {
        package var call: String
        package var code: Int32
        package var description: String { "\(call) failed: \(String(cString: strerror(code)))" }
    }

    /// Starts `executable` with `arguments` (without the program name) and `environment`
    /// (the parent's when nil). `input` is written to its standard input, which is then
    /// closed (before anything is read: keep it under a pipe's 64 KiB); its standard error is
    /// appended to the file `errorLog` (nothing kept when nil).
    package init(
        executable: String, arguments: [String], environment: [String: String]? = nil, input: [UInt8] = [],
        errorLog: String? = nil
    ) throws {
        var outputPipe: [Int32] = [0, 0]
        var inputPipe: [Int32] = [0, 0]
        // Close-on-exec, so that no other child inherits them (`pipe2` is not imported).
        guard pipe(&outputPipe) == 0, pipe(&inputPipe) == 0 else { throw SpawnError(call: "pipe", code: errno) }
        for descriptor in outputPipe + inputPipe { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inputPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 1)
        if let errorLog {
            posix_spawn_file_actions_addopen(&actions, 2, errorLog, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        // Nothing else of this process reaches the child (another test's pipe held open by it
        // would never see end of file).
        // (glibc 2.34 and later; looked up at run time: Swift's Glibc module does not import it.)
        typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "posix_spawn_file_actions_addclosefrom_np") {
            _ = unsafeBitCast(symbol, to: AddCloseFrom.self)(&actions, 3)
        }

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let variables = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let envp = variables.map { strdup($0) } + [nil]
        defer { for pointer in envp { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        close(outputPipe[1])
        close(inputPipe[0])
        guard result == 0 else {
            close(outputPipe[0])
            close(inputPipe[1])
            throw SpawnError(call: "posix_spawn", code: result)
        }
        processIdentifier = pid
        output = FileHandle(fileDescriptor: outputPipe[0], closeOnDealloc: true)
        let writer = FileHandle(fileDescriptor: inputPipe[1], closeOnDealloc: true)
        if !input.isEmpty { writer.write(Data(input)) }
        try? writer.close()
    }

    /// Whether the child still runs (reaps it if it has ended).
    package var isRunning: Bool {
        status.withLock { status in
            if status != nil { return false }
            var raw: Int32 = 0
            if waitpid(processIdentifier, &raw, WNOHANG) == processIdentifier {
                status = raw
                return false
            }
            return true
        }
    }

    /// Sends `signal` unless the child has ended; whether it was sent.
    @discardableResult
    package func send(_ signal: Int32) -> Bool {
        isRunning && kill(processIdentifier, signal) == 0
    }

    /// Waits (blocking the calling thread) until the child ends; how it ended. Holds the
    /// status lock meanwhile, so that the child is reaped exactly once.
    @discardableResult
    package func waitUntilExit() -> Termination {
        let raw = status.withLock { status -> Int32 in
            if let status { return status }
            var raw: Int32 = 0
            while waitpid(processIdentifier, &raw, 0) == -1, errno == EINTR {}
            status = raw
            return raw
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, spelled out (the C macros are not imported).
        let signal = raw & 0x7F
        return signal == 0 ? .exit((raw >> 8) & 0xFF) : .signal(signal)
    }

    /// Everything the child writes to standard output until it closes it.
    package func readOutputToEnd() -> [UInt8] { Array(output.readDataToEndOfFile()) }
}
