import Foundation
import Glibc
package import Logging

/// Forwards TCP connections from a fixed loopback port to a target port.
///
/// librdkafka 2.0.2's mock brokers always listen on ephemeral ports; this gives
/// `consent-bridge broker --port P` a stable bootstrap address. Clients bootstrap through it
/// and then connect to the brokers' own (advertised) addresses directly, as Kafka clients do.
package final class LoopbackForwarder: Sendable {
    /// The port actually listened on.
    package let port: UInt16
    private let listener: Int32
    private let stopFlag = StopFlag()

    /// Listens on 127.0.0.1:`port` and forwards every connection to 127.0.0.1:`targetPort`.
    package init(port: UInt16, targetPort: UInt16, logger: Logger) throws(KafkaError) {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { throw KafkaError(code: .transport, operation: "listen", detail: "socket() failed") }
        var reuse: Int32 = 1
        setsockopt(socketFD, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(socketFD, 64) == 0 else {
            close(socketFD)
            throw KafkaError(
                code: .transport, operation: "listen",
                detail: "cannot listen on 127.0.0.1:\(port) (\(String(cString: strerror(errno))))")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketFD, $0, &length) }
        }
        self.port = UInt16(bigEndian: actual.sin_port)
        self.listener = socketFD
        let stopFlag = self.stopFlag
        let thread = Thread {
            Self.acceptLoop(listener: socketFD, targetPort: targetPort, stopFlag: stopFlag, logger: logger)
        }
        thread.name = "bootstrap-forwarder"
        thread.start()
    }

    /// Stops accepting connections (open ones end when either side closes).
    package func stop() {
        guard stopFlag.set() else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    deinit { stop() }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private static func acceptLoop(listener: Int32, targetPort: UInt16, stopFlag: StopFlag, logger: Logger) {
        while !stopFlag.isSet {
            let client = accept(listener, nil, nil)
            guard client >= 0 else {
                if stopFlag.isSet { return }
                continue
            }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = loopback(port: targetPort)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard upstream >= 0, connected == 0 else {
                logger.warning("Bootstrap forwarder could not reach the broker")
                if upstream >= 0 { close(upstream) }
                close(client)
                continue
            }
            Thread.detachNewThread { pump(client, upstream) }
        }
    }

    /// Copies bytes both ways until either side closes.
    private static func pump(_ first: Int32, _ second: Int32) {
        defer {
            close(first)
            close(second)
        }
        var descriptors = [
            pollfd(fd: first, events: Int16(POLLIN), revents: 0), pollfd(fd: second, events: Int16(POLLIN), revents: 0),
        ]
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            guard poll(&descriptors, 2, -1) > 0 else { return }
            for index in 0..<2 where descriptors[index].revents != 0 {
                let from = descriptors[index].fd
                let to = descriptors[1 - index].fd
                let count = buffer.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
                guard count > 0 else { return }
                var written = 0
                while written < count {
                    let result = buffer.withUnsafeBytes { write(to, $0.baseAddress! + written, count - written) }
                    guard result > 0 else { return }
                    written += result
                }
            }
        }
    }
}
