internal import ConsentContracts
internal import ConsentKafka
internal import Foundation
internal import Logging

/// Sends typed messages the way the bridge expects them: checked against the contract first,
/// as a CloudEvents binary-mode record (`ce_id`, `ce_type`, `ce_source`, `ce_time`,
/// `ce_specversion`, `content-type`) keyed by the person, on the contract's topic, and
/// acknowledged by the brokers (an idempotent producer) before `send` returns.
public final class IPSProducer: Sendable {
    private let producer: KafkaProducer
    private let source: String
    private let topics: [String: String]

    /// Connects to `bootstrapServers`. `source` names the sending system (an absolute URI,
    /// e.g. `urn:no:helse-bergen:dips`); `topics` renames a contract's default topic.
    public init(bootstrapServers: String, source: String, topics: [String: String] = [:]) throws {
        guard let scheme = URL(string: source)?.scheme, !scheme.isEmpty else {
            throw IPSProducerError.invalidSource
        }
        self.source = source
        self.topics = topics
        do {
            producer = try KafkaProducer(
                configuration: .init(bootstrapServers: bootstrapServers), logger: Logger(label: "ips-producer"))
        } catch {
            throw IPSProducerError.kafka(String(describing: error))
        }
    }

    /// Validates and sends `message`; returns its `ce_id`. A message that breaks its contract
    /// throws `IPSValidationError` and is not sent.
    ///
    /// The `ce_id` is `id` if given, else the message's `eventId` (every event contract says
    /// the two are the same), else a fresh UUID. The bridge refuses an event whose `ce_id` is
    /// not a UUID (the id reaches receipts and operators), so such an `id` throws
    /// `IPSProducerError.invalidID` and nothing is sent.
    @discardableResult
    public func send<Message: IPSMessage>(
        _ message: Message, id: String? = nil, traceparent: String? = nil
    ) async throws -> String {
        let json = try message.validatedJSON()
        let id = id ?? message.eventID(in: json.value) ?? UUID().uuidString.lowercased()
        guard CloudEventHeaders.isUUID(id) else { throw IPSProducerError.invalidID }
        var headers = [
            KafkaHeader(name: "ce_id", string: id), KafkaHeader(name: "ce_type", string: Message.ceType),
            KafkaHeader(name: "ce_source", string: source), KafkaHeader(name: "ce_specversion", string: "1.0"),
            KafkaHeader(name: "ce_time", string: Date().formatted(.iso8601)),
            KafkaHeader(name: "content-type", string: "application/json"),
        ]
        if let traceparent { headers.append(KafkaHeader(name: "traceparent", string: traceparent)) }
        let record = KafkaOutgoingRecord(
            topic: topics[Message.defaultTopic] ?? Message.defaultTopic,
            key: message.subject(in: json.value).map { Array($0.utf8) },
            value: json.bytes, headers: headers)
        do {
            _ = try await producer.send(record)
        } catch {
            throw IPSProducerError.kafka(String(describing: error))
        }
        return id
    }

    /// Flushes and closes the connection.
    public func close() async { await producer.close() }
}

/// Why a message could not be sent (the message's own faults are `IPSValidationError`).
public enum IPSProducerError: Error, Sendable, CustomStringConvertible {
    /// `source` is not an absolute URI.
    case invalidSource
    /// The `ce_id` asked for is not a UUID.
    case invalidID
    /// The brokers did not take the record (the Kafka error's description).
    case kafka(String)

    public var description: String {
        switch self {
        case .invalidSource: "the source must be an absolute URI, e.g. urn:no:example:epj"
        case .invalidID:
            "the ce_id must be a UUID, e.g. 3f0c1a52-9d4b-4e7a-b1c6-0a8e2d5f7c91 (the bridge refuses any other)"
        case .kafka(let detail): "not sent: \(detail)"
        }
    }
}
