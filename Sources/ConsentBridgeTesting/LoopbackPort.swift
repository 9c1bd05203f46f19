#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Loopback TCP ports for the services a test starts in child processes.
package enum LoopbackPort {
    /// The ports tried: below Linux's ephemeral range (32768–60999 by default), which the kernel
    /// hands to every outgoing connection and to listeners on port 0 (the embedded broker, other
    /// tests running meanwhile): a random port in it could be taken between choosing and binding.
    static let candidates = 20_000...32_000

    /// A port on 127.0.0.1 that nothing is bound to now, other than those in `taken`: a random
    /// candidate that a socket of this process could bind (and released again).
    package static func unused(excluding taken: Set<Int> = []) throws(LoopbackPortError) -> Int {
        for _ in 0..<500 {
            let port = Int.random(in: candidates)
            if !taken.contains(port), isFree(port) { return port }
        }
        throw LoopbackPortError()
    }

    /// Whether a TCP socket can bind 127.0.0.1:`port` now.
    private static func isFree(_ port: Int) -> Bool {
        #if canImport(Glibc)
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

/// No free loopback port was found among the candidates.
package struct LoopbackPortError: Error, CustomStringConvertible {
    package var description: String {
        "no free loopback port in \(LoopbackPort.candidates) after 500 tries"
    }
}
