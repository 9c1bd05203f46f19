import ConsentBridge
import Testing

/// How late a withdrawal can be seen depends on the consent consumer's fetch wait: brokers
/// like librdkafka's mock hold an empty fetch for the whole wait whatever arrives meanwhile.
@Suite("Consent consumer settings")
struct ConsentConsumerSettingsTests {
    @Test(
        "R5: the consent consumer waits at most 10 ms per fetch, whatever the event consumers are configured with",
        arguments: [(0, "0"), (5, "5"), (10, "10"), (100, "10"), (500, "10"), (10_000, "10")])
    func R5_consentFetchWaitIsCapped(configured: Int, expected: String) {
        let properties = BridgeApplication.consentConsumerProperties(configuredFetchWait: configured)
        #expect(properties["fetch.wait.max.ms"] == expected)
    }

    @Test("R5: the consent consumer asks for the topic's metadata every 10 s, not librdkafka's 5 minutes")
    func R5_consentConsumerFindsAddedPartitionsWithinSeconds() {
        // Until it is assigned a partition added to the topic, the gate holds every batch.
        let properties = BridgeApplication.consentConsumerProperties(configuredFetchWait: 100)
        #expect(properties["topic.metadata.refresh.interval.ms"] == "10000")
    }
}
