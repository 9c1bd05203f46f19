import ConsentKafka
import Testing

/// Whether two sides' Kafka settings reach one cluster (then the bridge watches it once, and one
/// `Metadata` question serves both sides' batches): the same broker addresses, however written.
@Suite("Kafka bootstrap comparison")
struct KafkaBootstrapComparisonTests {
    static func configuration(_ servers: String, _ properties: [String: String] = [:]) -> KafkaClientConfiguration {
        KafkaClientConfiguration(bootstrapServers: servers, properties: properties)
    }

    @Test("the same brokers in another order, case or spacing, with other credentials, are one cluster")
    func sameBrokersHoweverWritten() {
        let health = Self.configuration("kafka-1:9092,kafka-2:9092,kafka-3:9092")
        let nav = Self.configuration(
            " KAFKA-3:9092, kafka-1:9092 ,kafka-2:9092",
            ["security.protocol": "sasl_plaintext", "sasl.username": "bridge"])
        #expect(health.bootstrapsFromTheSameBrokers(as: nav))
        #expect(nav.bootstrapsFromTheSameBrokers(as: health))
    }

    @Test("other brokers, a subset of them, another port, or none are not one cluster")
    func otherBrokersAreAnotherCluster() {
        let health = Self.configuration("kafka-1:9092,kafka-2:9092")
        #expect(!health.bootstrapsFromTheSameBrokers(as: Self.configuration("nav-kafka-1:9092,nav-kafka-2:9092")))
        #expect(!health.bootstrapsFromTheSameBrokers(as: Self.configuration("kafka-1:9092")))
        #expect(!health.bootstrapsFromTheSameBrokers(as: Self.configuration("kafka-1:9093,kafka-2:9092")))
        #expect(!Self.configuration("").bootstrapsFromTheSameBrokers(as: Self.configuration(" , ")))
    }

    @Test("bootstrap.servers given as a property is the list that counts, as librdkafka takes it")
    func propertyOverridesTheList() {
        let health = Self.configuration("127.0.0.1:1", ["bootstrap.servers": "kafka-1:9092"])
        #expect(health.bootstrapsFromTheSameBrokers(as: Self.configuration("kafka-1:9092")))
        #expect(!health.bootstrapsFromTheSameBrokers(as: Self.configuration("127.0.0.1:1")))
    }
}
