import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Switches Nagle's algorithm off on the embedded brokers' connections.
///
/// librdkafka 2.0.2's mock broker never sets `TCP_NODELAY` on the connections it accepts. When
/// it has more than one response in flight on a connection (a produce spread over several
/// partitions, a fetch beside a ListOffsets), Nagle holds the later one until the client's
/// delayed ACK: every such exchange took ~44 ms (measured with Python confluent-kafka as well
/// as ours: 100 records over 6 partitions, produce + flush, 44 ms against 0.5 ms for one
/// partition; 0.6 ms for both with this in place). Real brokers set `TCP_NODELAY`.
///
/// The mock hands out no socket, so one thread per process looks through the open descriptors
/// every 50 ms and sets the option, once per socket, on TCP sockets whose local port is a
/// registered mock broker's listening port (the connections it accepted).
enum MockBrokerNoDelay {
    private static let ports = Mutex<[UInt16: Int]>([:])  // port -> registrations
    private static let thread = Mutex<Bool>(false)
    static let interval: useconds_t = 50_000
    /// Where a `dirent`'s name starts.
    private static let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!

    /// Starts switching the connections of brokers listening on `ports`.
    static func register(_ brokerPorts: Set<UInt16>) {
        ports.withLock { for port in brokerPorts { $0[port, default: 0] += 1 } }
        let start = thread.withLock { started in
            defer { started = true }
            return !started
        }
        guard start else { return }
        let sweeper = Thread {
            var done = Set<String>()  // "socket:[inode]" already handled
            while true {
                let current = ports.withLock { Set($0.keys) }
                if !current.isEmpty { sweep(ports: current, done: &done) }
                usleep(interval)
            }
        }
        sweeper.name = "kafka-mock-nodelay"
        sweeper.start()
    }

    /// Stops looking for the connections of brokers on `ports` (the thread idles when none remain).
    static func unregister(_ brokerPorts: Set<UInt16>) {
        ports.withLock { registered in
            for port in brokerPorts {
                let remaining = (registered[port] ?? 1) - 1
                registered[port] = remaining > 0 ? remaining : nil
            }
        }
    }

    private static func sweep(ports: Set<UInt16>, done: inout Set<String>) {
        guard let directory = opendir("/proc/self/fd") else { return }
        defer { closedir(directory) }
        var seen = Set<String>()
        var link = [CChar](repeating: 0, count: 64)
        while let entry = readdir(directory) {
            // The name is read in place, up to its NUL. Copying `entry.pointee.d_name` (256
            // bytes) read past readdir's buffer when an entry sat at its tail, as entries are only
            // as long as their names: it crashed a full test run ("Bad pointer dereference" in
            // this thread), the bug `SpawnedProcess` works around in Foundation's `Process`.
            let name = String(
                cString: (UnsafeRawPointer(entry) + Self.nameOffset).assumingMemoryBound(to: CChar.self))
            guard let descriptor = Int32(name) else { continue }
            // One syscall tells sockets ("socket:[inode]") from files, and names the socket.
            let length = readlink("/proc/self/fd/" + name, &link, link.count - 1)
            guard length > 8 else { continue }
            let target = String(decoding: link[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard target.hasPrefix("socket:") else { continue }
            seen.insert(target)
            if done.contains(target) { continue }
            done.insert(target)
            var address = sockaddr_in()
            var size = socklen_t(MemoryLayout<sockaddr_in>.size)
            let named = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &size) }
            }
            // Only IPv4 TCP sockets on a mock broker's port (the mock listens on 127.0.0.1).
            guard named == 0, address.sin_family == sa_family_t(AF_INET),
                ports.contains(UInt16(bigEndian: address.sin_port))
            else { continue }
            var type: Int32 = 0
            var typeSize = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(descriptor, SOL_SOCKET, SO_TYPE, &type, &typeSize) == 0,
                type == Int32(SOCK_STREAM.rawValue)
            else { continue }
            var on: Int32 = 1
            _ = setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        }
        // Forget closed sockets.
        done.formIntersection(seen)
    }
}
