import ConsentContracts
package import ConsentKafka
package import Foundation

extension KafkaOutgoingRecord {
    /// A record as `Contracts/asyncapi.yaml` requires every message: the JSON body in CloudEvents
    /// binary mode, with every header of `CloudEventHeaders.requiredNames` (`ce_id`, `ce_type`,
    /// `ce_source`, `ce_time`, `ce_specversion` `1.0`, `content-type` `application/json`).
    ///
    /// The one way the tools that publish like an integration build a message: `consent-bridge
    /// send` and the simulator (its consents included), so none can leave a header out.
    package static func cloudEvent(
        topic: String, key: String?, body: [UInt8], type: String, source: String,
        id: String = UUID().uuidString.lowercased(), time: Date = Date()
    ) -> KafkaOutgoingRecord {
        typealias Name = CloudEventHeaders.Name
        return KafkaOutgoingRecord(
            topic: topic, key: key.map { Array($0.utf8) }, value: body,
            headers: [
                KafkaHeader(name: Name.id, string: id), KafkaHeader(name: Name.type, string: type),
                KafkaHeader(name: Name.source, string: source), KafkaHeader(name: Name.specVersion, string: "1.0"),
                KafkaHeader(name: Name.time, string: ISO8601DateFormatter().string(from: time)),
                KafkaHeader(name: Name.contentType, string: "application/json"),
            ])
    }
}
