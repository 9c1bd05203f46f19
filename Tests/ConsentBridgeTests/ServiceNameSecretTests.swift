import ConsentBridge
import Testing

/// swift-service-lifecycle names each service `"\(service)"`: it logs the name when the service
/// starts (debug) and puts it in the error a process exits with when a service ends unexpectedly.
/// Services hold Kafka client configurations, whose properties can carry `sasl.password`.
@Suite("Service names carry no secret")
struct ServiceNameSecretTests {
    @Test("No service of a running bridge and its sinks describes itself with a Kafka password")
    func serviceNamesHoldNoKafkaPassword() async throws {
        let planted = "planted-sasl-password-5c1d"
        let harness = try BridgeHarness(roles: WholeProductTests.allRoles)
        try await harness.start(clientProperties: ["sasl.password": planted])
        let services = harness.application?.services ?? []
        let names = services.map { "\($0)" }
        await harness.finish()

        #expect(!services.isEmpty)
        // The configurations are in the names (redacted), so the check looks where the secret was.
        #expect(names.contains { $0.contains("sasl.password=<redacted>") })
        for name in names { #expect(!name.contains(planted), "a service's name holds the Kafka password") }
    }
}
