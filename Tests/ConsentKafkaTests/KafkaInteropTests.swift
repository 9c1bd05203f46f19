import ConsentBridgeTesting
import ConsentKafka
import Foundation
import Testing

/// Runs kcat (an independent librdkafka-based client) against the embedded cluster.
enum Kcat {
    static let path: String? = ["/usr/bin/kcat", "/usr/local/bin/kcat", "/usr/bin/kafkacat"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Runs kcat with `arguments`, feeding `input` on stdin; returns stdout.
    static func run(_ arguments: [String], input: String = "") throws -> String {
        let kcat = try #require(path, "kcat is not installed: apt-get install -y kcat (scripts/test installs it)")
        // Not Foundation's `Process`: it crashes now and then on Linux (see `SpawnedProcess`).
        let process = try SpawnedProcess(executable: kcat, arguments: arguments, input: Array(input.utf8))
        let output = process.readOutputToEnd()
        let termination = process.waitUntilExit()
        try #require(termination == .exit(0), "kcat ended: \(termination)")
        return String(decoding: output, as: UTF8.self)
    }
}

@Suite("Interoperability with an independent Kafka client (kcat)")
struct KafkaInteropTests {
    @Test("what our producer writes, kcat reads with keys, values and headers")
    func kcatReadsOurRecords() async throws {
        let topic = KafkaTestSupport.unique("interop-out")
        let cluster = try KafkaTestSupport.cluster(topics: [topic: 3])
        defer { cluster.shutdown() }
        let producer = try KafkaTestSupport.producer(cluster)
        let sent = (0..<50).map { index in
            KafkaOutgoingRecord(
                topic: topic, key: Array("key-\(index)".utf8), value: Array("value-\(index)".utf8),
                headers: [KafkaHeader(name: "ce_id", string: "id-\(index)")])
        }
        _ = try await producer.send(sent).map { try $0.get() }
        await producer.close()

        let output = try Kcat.run([
            "-b", cluster.bootstrapServers, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-J",
        ])
        struct Line: Decodable {
            let key: String?
            let payload: String?
            let headers: [String]?
        }
        let lines = try output.split(separator: "\n").map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)) }
        #expect(lines.count == 50)
        for line in lines {
            let index = try #require(line.key.flatMap { Int($0.dropFirst(4)) })
            #expect(line.payload == "value-\(index)")
            #expect(line.headers == ["ce_id", "id-\(index)"])
        }
    }

    @Test("what kcat writes, our consumer reads with keys, values and headers")
    func weReadKcatRecords() async throws {
        let topic = KafkaTestSupport.unique("interop-in")
        let cluster = try KafkaTestSupport.cluster(topics: [topic: 2])
        defer { cluster.shutdown() }
        let input = (0..<40).map { "k\($0):v\($0)" }.joined(separator: "\n") + "\n"
        _ = try Kcat.run(
            ["-b", cluster.bootstrapServers, "-P", "-t", topic, "-K", ":", "-H", "origin=kcat"], input: input)

        let received = try await KafkaTestSupport.read(40, from: topic, on: cluster)
        let pairs = Set(
            received.map {
                "\(String(decoding: $0.key ?? [], as: UTF8.self)):\(String(decoding: $0.value ?? [], as: UTF8.self))"
            })
        #expect(received.count == 40)
        #expect(pairs == Set((0..<40).map { "k\($0):v\($0)" }))
        #expect(received.allSatisfy { $0.headers.string(named: "origin") == "kcat" })
    }
}
