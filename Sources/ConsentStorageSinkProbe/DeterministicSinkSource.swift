import ConsentContracts
package import ConsentStorage
import Foundation

/// A reproducible stand-in for the health sink's Kafka topics: record `offset` of partition
/// `partition` is always the same, so a test can compute what the store must hold after any
/// number of crashes and restarts.
///
/// Every 7th record re-publishes an earlier `ce_id` (a relay retry: must be stored once), every
/// 11th is NAV follow-up documentation (must be refused, R3), and partition 0 of the
/// disclosure topic carries one disclosure per inbound record for patient `patientID(for:)`.
package struct DeterministicSinkSource: Sendable {
    /// Inbound topic partitions.
    package var partitions: Int32
    /// Records per inbound partition.
    package var recordsPerPartition: Int64
    /// Disclosure records (partition 0 of the disclosure topic).
    package var disclosures: Int64

    /// Creates a source.
    package init(partitions: Int32, recordsPerPartition: Int64, disclosures: Int64) {
        self.partitions = partitions
        self.recordsPerPartition = recordsPerPartition
        self.disclosures = disclosures
    }

    /// The consumer group the probe stores its offsets under.
    package static let consumerGroup = "health-sink"

    /// The breach topics the probe's store queues its notices for (R10).
    package static let breachTopics = ["health.breaches", "nav.breaches"]

    /// How the probe's store quarantines the follow-up notes (a fixed test key).
    package static let breachReporting = BreachReporting(
        detector: .healthJournalSink, sealer: SealingBox(keyID: "probe-1", keyBytes: Array(repeating: 7, count: 32)),
        noticeTopics: breachTopics, publishedTypes: ["no.ips.nav.follow-up-note.v1", "no.ips.nav.job-status.v1"])

    /// All (topic, partition, end offset) this source has.
    package var partitionEnds: [(topic: String, partition: Int32, end: Int64)] {
        (0..<self.partitions).map { (HealthSinkPolicy.standard.inboundTopic, $0, self.recordsPerPartition) }
            + [(HealthSinkPolicy.standard.disclosuresTopic, 0, self.disclosures)]
    }

    /// Whether inbound record (partition, offset) re-publishes an earlier record's `ce_id`.
    package static func isRepublished(offset: Int64) -> Bool { offset % 7 == 6 }
    /// Whether inbound record (partition, offset) is a NAV follow-up note (R3).
    package static func isFollowUpNote(offset: Int64) -> Bool { offset % 11 == 10 && !isRepublished(offset: offset) }

    /// The `ce_id` of inbound record (partition, offset).
    package static func inboundCEID(partition: Int32, offset: Int64) -> String {
        isRepublished(offset: offset) ? "evt-\(partition)-\(offset - 3)" : "evt-\(partition)-\(offset)"
    }

    /// Synthetic patient ids (not real fødselsnummer) spread over the disclosures.
    package static func patientID(for index: Int64) -> String { "patient-\(index % 5)" }

    /// The record at (topic, partition, offset).
    package func record(topic: String, partition: Int32, offset: Int64) -> SinkRecord {
        if topic == HealthSinkPolicy.standard.disclosuresTopic {
            let disclosure = DisclosureRecord(
                disclosureID: "disc-\(offset)", eventID: "ref-\(offset)", ceType: "no.ips.health.referral.v1",
                direction: "health-to-nav", subjectID: Self.patientID(for: offset), recipientRole: "ips-job-specialist",
                recipientOrganisation: "nav-oslo", categories: ["ips-participation"], form: "identified",
                consentID: "consent-\(offset % 5)", consentVersion: 1, purpose: "ips-follow-up",
                disclosedAt: Date(timeIntervalSince1970: 1_790_000_000 + Double(offset)), bridgeVersion: "probe")
            return SinkRecord(
                topic: topic, partition: partition, offset: offset, key: Array(Self.patientID(for: offset).utf8),
                value: disclosure.notice.serializedBytes(),
                headers: [
                    MessageHeader(name: "ce_id", text: "disc-evt-\(offset)"),
                    MessageHeader(name: "ce_type", text: DisclosureNotice.ceType),
                ])
        }
        let ceType = Self.isFollowUpNote(offset: offset) ? "no.ips.nav.follow-up-note.v1" : "no.ips.nav.job-status.v1"
        let ceID = Self.inboundCEID(partition: partition, offset: offset)
        return SinkRecord(
            topic: topic, partition: partition, offset: offset, key: Array("participant-\(offset % 13)".utf8),
            value: Array("{\"eventId\":\"\(ceID)\",\"status\":\"job-started\"}".utf8),
            headers: [MessageHeader(name: "ce_id", text: ceID), MessageHeader(name: "ce_type", text: ceType)])
    }

    /// The `ce_id`s the health journal must hold in `events_from_nav` once everything is applied.
    package var expectedStoredInboundIDs: Set<String> {
        var ids = Set<String>()
        for partition in 0..<self.partitions {
            for offset in 0..<self.recordsPerPartition
            where !Self.isFollowUpNote(offset: offset) && !Self.isRepublished(offset: offset) {
                ids.insert(Self.inboundCEID(partition: partition, offset: offset))
            }
            // A re-published id whose original was a follow-up note is a job-status record
            // with that id: stored once.
            for offset in 0..<self.recordsPerPartition where Self.isRepublished(offset: offset) {
                ids.insert(Self.inboundCEID(partition: partition, offset: offset))
            }
        }
        return ids
    }

    /// The (partition, offset) positions the sink must refuse as NAV follow-up notes.
    package var expectedRefusedPositions: Set<String> {
        var positions = Set<String>()
        for partition in 0..<self.partitions {
            for offset in 0..<self.recordsPerPartition where Self.isFollowUpNote(offset: offset) {
                positions.insert("\(partition):\(offset)")
            }
        }
        return positions
    }
}
