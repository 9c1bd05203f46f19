import ConsentBridge
import Testing

/// Each side's pipelines form a Kafka consumer group of their own, so that a member of one
/// side joining or leaving never revokes the other side's partitions (with one shared group
/// the NAV pipeline joining late stalled the health pipeline ~4 s mid-stream).
@Suite("Pipeline consumer groups")
struct PipelineGroupTests {
    @Test("the health and NAV pipelines use distinct Kafka groups derived from bridge.group-id")
    func oneGroupPerSide() {
        let health = BridgeApplication.pipelineGroupID("ips-bridge", side: .health)
        let nav = BridgeApplication.pipelineGroupID("ips-bridge", side: .nav)
        #expect(health == "ips-bridge.health")
        #expect(nav == "ips-bridge.nav")
        #expect(health != nav)
    }
}
