import Foundation

/// A message the relay must publish: the filtered payload, never the original input.
package struct OutboxRecord: Sendable, Hashable {
    /// Destination topic.
    package var topic: String
    /// Kafka key (never a raw fødselsnummer unless the consent covers identity).
    package var key: [UInt8]?
    /// Headers (CloudEvents binary mode).
    package var headers: [MessageHeader]
    /// Body.
    package var payload: [UInt8]
    /// The disclosure this message carries out, if any (the relay withholds it on withdrawal).
    package var disclosureID: String?
    /// Whether the store erases the row's key and payload (and the relay's re-check headers)
    /// once it is settled: set on the rows of an anonymous forward that tie a case reference to
    /// the person, the sending side's notice and the copy (whose re-check header names the
    /// person). The bridge store keeps no such link beyond handing it over.
    package var isErasedOnceSettled: Bool
    /// Set when the store keeps no payload for the row but builds it again from the decision's
    /// other rows when it is read (`OutboxPayloadDerivation`). The record handed to the relay
    /// still has its payload.
    package var derivation: OutboxPayloadDerivation?

    /// The value of the first header called `name`, as UTF-8 text.
    package func headerText(_ name: String) -> String? {
        headers.first { $0.name == name }?.value.map { String(decoding: $0, as: UTF8.self) }
    }

    /// Creates an outbox record.
    package init(
        topic: String, key: [UInt8]?, headers: [MessageHeader], payload: [UInt8], disclosureID: String? = nil,
        isErasedOnceSettled: Bool = false, derivation: OutboxPayloadDerivation? = nil
    ) {
        self.topic = topic
        self.key = key
        self.headers = headers
        self.payload = payload
        self.disclosureID = disclosureID
        self.isErasedOnceSettled = isErasedOnceSettled
        self.derivation = derivation
    }
}
