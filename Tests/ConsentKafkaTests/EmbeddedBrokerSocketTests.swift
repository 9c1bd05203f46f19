import ConsentKafka
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The embedded broker's connections have Nagle's algorithm off, as a real broker's do (the
/// librdkafka 2.0.2 mock leaves it on, which held responses for ~44 ms; see docs/kafka.md).
@Suite("Embedded broker sockets")
struct EmbeddedBrokerSocketTests {
    @Test("every connection the embedded broker accepted gets TCP_NODELAY")
    func acceptedConnectionsHaveNoDelay() async throws {
        let topic = KafkaTestSupport.unique("nodelay")
        let cluster = try KafkaTestSupport.cluster(topics: [topic: 6])
        defer { cluster.shutdown() }
        let port = try #require(cluster.bootstrapServers.split(separator: ":").last.flatMap { UInt16($0) })
        let producer = try KafkaTestSupport.producer(cluster)
        let records = (0..<60).map {
            KafkaOutgoingRecord(topic: topic, key: Array("k\($0)".utf8), value: Array("v".utf8))
        }
        for result in try await producer.send(records) { _ = try result.get() }

        var states: [Bool] = []
        let deadline = ContinuousClock.now + .seconds(3)
        repeat {
            try await Task.sleep(for: .milliseconds(100))
            states = Self.noDelayStates(ofSocketsOnLocalPort: port)
        } while (states.isEmpty || states.contains(false)) && ContinuousClock.now < deadline
        await producer.close()

        #expect(!states.isEmpty, "the broker accepted connections")
        #expect(states.allSatisfy { $0 }, "TCP_NODELAY on all of them: \(states)")
    }

    /// TCP_NODELAY of each TCP socket in this process whose local port is `port`.
    static func noDelayStates(ofSocketsOnLocalPort port: UInt16) -> [Bool] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return [] }
        var states: [Bool] = []
        for name in names {
            guard let descriptor = Int32(name) else { continue }
            var address = sockaddr_in()
            var size = socklen_t(MemoryLayout<sockaddr_in>.size)
            let named = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &size) }
            }
            guard named == 0, address.sin_family == sa_family_t(AF_INET), UInt16(bigEndian: address.sin_port) == port
            else { continue }
            var type: Int32 = 0
            var typeSize = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(descriptor, SOL_SOCKET, SO_TYPE, &type, &typeSize) == 0,
                type == Int32(SOCK_STREAM.rawValue)
            else { continue }
            // The listening socket itself is not a connection.
            var peer = sockaddr_in()
            var peerSize = socklen_t(MemoryLayout<sockaddr_in>.size)
            let connected = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(descriptor, $0, &peerSize) }
            }
            guard connected == 0 else { continue }
            var value: Int32 = 0
            var valueSize = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &value, &valueSize) == 0 else { continue }
            states.append(value != 0)
        }
        return states
    }
}
