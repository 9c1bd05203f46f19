package import ConsentConfiguration
import ConsentContracts
package import ConsentKafka
import ConsentPolicy
import Foundation
import Logging

/// Publishes a realistic stream of one side's events, built from the contracts' valid
/// examples, for demos and for trying a deployment: `consent-bridge simulate epj|nav`.
///
/// The EPJ stream records consents (granted in full, narrowed, none; some withdrawn and
/// granted again later), referrals, anonymous case discussions, treatment coordination and
/// work-relevant health information; the NAV stream job status, candidate suggestions,
/// participation changes and NAV's own follow-up notes (which never cross, R3). A share of
/// messages is broken on purpose (malformed JSON, an unknown type, a schema violation, a
/// missing CloudEvents header), so the operators' view has rejections of every kind.
///
/// Persons are synthetic fødselsnumre (the bridge must allow synthetic identifiers); both
/// simulators with the same patient count talk about the same persons.
package struct TrafficSimulator: Sendable {
    /// Which system the stream comes from.
    package enum System: String, Sendable, CaseIterable {
        /// The health side's patient journal.
        case epj
        /// NAV's case system.
        case nav

        /// The `ce_source` of its events (the demo lists them in `operator.known-sources`).
        package var source: String { "urn:no:ips:simulator:\(rawValue)" }
    }

    /// How much to send, how fast.
    package struct Options: Sendable {
        /// Number of persons (1…500).
        package var patients: Int
        /// Events per second.
        package var rate: Double
        /// Stop after this many events (nil: until cancelled).
        package var count: Int?
        /// Share of messages broken on purpose (0…1).
        package var invalidShare: Double
        /// Seed of the random choices (the same seed, the same stream).
        package var seed: UInt64

        /// Creates options.
        package init(
            patients: Int = 40, rate: Double = 20, count: Int? = nil, invalidShare: Double = 0.05, seed: UInt64 = 2026
        ) {
            self.patients = patients
            self.rate = rate
            self.count = count
            self.invalidShare = invalidShare
            self.seed = seed
        }
    }

    /// What was sent so far: the initial consents the EPJ stream records first, then the events
    /// (`Options.count` counts these), by kind (contract name, `consent` for a later consent
    /// change, or `invalid:<how>`).
    package struct Progress: Sendable, Hashable {
        /// Every message sent: initial consents and events.
        package var sent = 0
        /// The consents recorded before the first event (EPJ only).
        package var initialConsents = 0
        /// The events by kind (initial consents not included).
        package var byKind: [String: Int] = [:]

        /// Events sent (what `--count` limits): every message but the initial consents.
        package var events: Int { sent - initialConsents }

        package init() {}

        mutating func count(_ kind: String) {
            sent += 1
            byKind[kind, default: 0] += 1
        }

        mutating func countInitialConsent() {
            sent += 1
            initialConsents += 1
        }

        /// What was sent, for a person to read: `sent 5 events (referral 3, …) after 28 initial consents`.
        package var summary: String {
            let kinds = byKind.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            var text = "sent \(events) event\(events == 1 ? "" : "s")" + (kinds.isEmpty ? "" : " (\(kinds))")
            if initialConsents > 0 {
                text += " after \(initialConsents) initial consent\(initialConsents == 1 ? "" : "s")"
            }
            return text
        }
    }

    let system: System
    let catalog: ContractCatalog
    /// Valid examples by contract name, as read (parsed when used: `Data` is `Sendable`).
    let examples: [String: [Data]]
    let consentTemplates: (full: Data, narrow: Data)
    let topics: TopicNames
    let options: Options

    /// Loads the examples of `system`'s contracts from `contractsDirectory`.
    package init(system: System, contractsDirectory: String, topics: TopicNames, options: Options) throws {
        self.system = system
        self.topics = topics
        self.options = options
        catalog = try ContractCatalog.load(directory: contractsDirectory)
        let examplesDirectory = URL(fileURLWithPath: contractsDirectory).appendingPathComponent("examples")
        func load(_ contract: String) throws -> [Data] {
            let directory = examplesDirectory.appendingPathComponent(contract).appendingPathComponent("valid")
            return try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }
                .sorted().map {
                    try Data(contentsOf: directory.appendingPathComponent($0))
                }
        }
        var examples: [String: [Data]] = [:]
        for name in Self.weights(for: system).map(\.contract) { examples[name] = try load(name) }
        self.examples = examples
        let consents = try load("consent").map { ($0, Self.object($0)) }.filter {
            $0.1["status"] as? String == "granted"
        }
        guard let first = consents.first else { throw SimulatorError.noExamples("consent") }
        func categoryCount(_ object: [String: Any]) -> Int { (object["categories"] as? [String])?.count ?? 0 }
        consentTemplates = (
            consents.max { categoryCount($0.1) < categoryCount($1.1) }?.0 ?? first.0,
            consents.min { categoryCount($0.1) < categoryCount($1.1) }?.0 ?? first.0
        )
    }

    /// The mix of each stream (weights, in percent of the valid messages).
    static func weights(for system: System) -> [(contract: String, weight: Int)] {
        switch system {
        case .epj:
            [
                ("referral", 25), ("anonymous-case-discussion", 25), ("treatment-coordination", 20),
                ("work-relevant-health-information", 15),
                ("health-participation-change", 15),
            ]
        case .nav:
            [
                ("job-status-update", 40), ("candidate-suggestion", 20), ("participation-change", 25),
                ("follow-up-note", 15),
            ]
        }
    }

    /// Sends the stream through `producer`, calling `report` after every event; returns what
    /// was sent when `options.count` is reached or the task is cancelled.
    package func run(producer: KafkaProducer, report: @Sendable (Progress) -> Void = { _ in }) async throws -> Progress
    {
        var random = SeededRandom(seed: options.seed ^ (system == .epj ? 0x45504A : 0x4E4156))
        let patients = NorwegianIdentifier.syntheticFodselsnumre(count: max(1, min(options.patients, 500)))
        var progress = Progress()
        var consentVersions: [String: Int] = [:]
        var withdrawn: Set<String> = []
        let start = ContinuousClock.now
        let interval = 1.0 / max(0.01, options.rate)

        // The health side records its patients' consents first: half in full, a fifth
        // narrowed, the rest none (so their case discussions cross only anonymously).
        if system == .epj {
            for (index, patient) in patients.enumerated() where index % 10 < 7 {
                consentVersions[patient] = 1
                _ = try await producer.send(
                    consent(patient, version: 1, status: "granted", narrow: index % 10 >= 5))
                progress.countInitialConsent()
            }
            report(progress)
        }
        var sentEvents = 0
        while !Task.isCancelled, options.count.map({ sentEvents < $0 }) ?? true {
            let due = start + .seconds(Double(sentEvents) * interval)
            if due > ContinuousClock.now { try await Task.sleep(until: due, clock: .continuous) }
            sentEvents += 1
            let patient = patients[Int(random.next() % UInt64(patients.count))]
            let roll = Double(random.next() % 10_000) / 10_000
            if roll < options.invalidShare {
                let (record, how) = try broken(patient, choice: random.next())
                try await send(producer, record, kind: "invalid:\(how)", &progress)
            } else if system == .epj, roll < options.invalidShare + 0.05, let version = consentVersions[patient] {
                // Consent changes: a withdrawal, later a new grant (R5).
                let status = withdrawn.contains(patient) ? "granted" : "withdrawn"
                if status == "withdrawn" { withdrawn.insert(patient) } else { withdrawn.remove(patient) }
                consentVersions[patient] = version + 1
                let index = patients.firstIndex(of: patient) ?? 0
                try await send(
                    producer, consent(patient, version: version + 1, status: status, narrow: index % 10 >= 5),
                    kind: "consent", &progress)
            } else {
                let contract = Self.pick(Self.weights(for: system), random.next())
                try await send(
                    producer, try event(contract, about: patient, choice: random.next()), kind: contract, &progress)
            }
            report(progress)
        }
        return progress
    }

    private func send(
        _ producer: KafkaProducer, _ record: KafkaOutgoingRecord, kind: String, _ progress: inout Progress
    ) async throws {
        _ = try await producer.send(record)
        progress.count(kind)
    }

    private static func pick(_ weights: [(contract: String, weight: Int)], _ value: UInt64) -> String {
        var roll = Int(value % UInt64(weights.reduce(0) { $0 + $1.weight }))
        for entry in weights {
            if roll < entry.weight { return entry.contract }
            roll -= entry.weight
        }
        return weights[0].contract
    }

    private var topic: String { system == .epj ? topics.healthOutbound : topics.navOutbound }
    private var source: String { system.source }

    /// A valid event of `contract` about `patient`, from one of its examples.
    func event(_ contractName: String, about patient: String, choice: UInt64) throws -> KafkaOutgoingRecord {
        guard let contract = catalog.contract(named: contractName), let templates = examples[contractName],
            !templates.isEmpty
        else {
            throw SimulatorError.noExamples(contractName)
        }
        var body = Self.object(templates[Int(choice % UInt64(templates.count))])
        body = Self.setting(patient, at: contract.subjectPath[...], in: body)
        if body["eventId"] != nil { body["eventId"] = UUID().uuidString.lowercased() }
        // Each NAV system publishes on its own topic (R9): job status and follow-up notes from
        // the follow-up solution, the veileder's events from the case system.
        return record(
            type: contract.ceType, key: patient, body: try JSONSerialization.data(withJSONObject: body),
            topic: topics.configuredName(ofDefault: contract.sourceTopic))
    }

    /// A consent record for `patient`, in force from an hour ago for a year.
    func consent(_ patient: String, version: Int, status: String, narrow: Bool) throws -> KafkaOutgoingRecord {
        var body = Self.object(narrow ? consentTemplates.narrow : consentTemplates.full)
        let format = ISO8601DateFormatter()
        body["patientId"] = patient
        body["consentId"] = Self.consentID(of: patient)
        body["version"] = version
        body["status"] = status
        body["recordedAt"] = format.string(from: Date().addingTimeInterval(-3600))
        body["validFrom"] = format.string(from: Date().addingTimeInterval(-3600))
        body["validUntil"] = format.string(from: Date().addingTimeInterval(365 * 86_400))
        // A consent is a message like any other: with every CloudEvents header its contract
        // requires, or the journal refuses it (and records no consent the bridge discloses under).
        guard let contract = catalog.contract(named: "consent") else { throw SimulatorError.noExamples("consent") }
        return record(
            type: contract.ceType, key: patient, body: try JSONSerialization.data(withJSONObject: body),
            topic: topics.healthConsent)
    }

    /// A message broken on purpose, and how.
    func broken(_ patient: String, choice: UInt64) throws -> (KafkaOutgoingRecord, String) {
        let contract = Self.weights(for: system)[0].contract
        var valid = try event(contract, about: patient, choice: choice)
        switch choice % 4 {
        case 0:
            valid.value = Array(#"{"eventId": "broken", "patient": "#.utf8)
            return (valid, "malformed-json")
        case 1:
            valid.headers = valid.headers.map {
                $0.name == "ce_type" ? KafkaHeader(name: "ce_type", string: "no.ips.\(system.rawValue).unknown.v1") : $0
            }
            return (valid, "unknown-type")
        case 2:
            var body = try JSONSerialization.jsonObject(with: Data(valid.value ?? [])) as? [String: Any] ?? [:]
            body["notInTheContract"] = true
            valid.value = Array(try JSONSerialization.data(withJSONObject: body))
            return (valid, "schema-violation")
        default:
            valid.headers = valid.headers.filter { $0.name != "ce_time" }
            return (valid, "missing-header")
        }
    }

    private func record(type: String, key: String, body: Data, topic: String? = nil) -> KafkaOutgoingRecord {
        .cloudEvent(topic: topic ?? self.topic, key: key, body: Array(body), type: type, source: source)
    }

    private static func object(_ data: Data) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    private static func setting(_ value: String, at path: ArraySlice<String>, in object: [String: Any]) -> [String: Any]
    {
        guard let first = path.first else { return object }
        var object = object
        if path.count == 1 {
            object[first] = value
        } else {
            object[first] = setting(value, at: path.dropFirst(), in: object[first] as? [String: Any] ?? [:])
        }
        return object
    }

    /// A stable consent id per person (a UUID derived from the number; not the number).
    static func consentID(of patient: String) -> String {
        var random = SeededRandom(
            seed: patient.utf8.reduce(1_469_598_103_934_665_603) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 })
        let bytes = (0..<16).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let characters = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }
}

/// Why the simulator cannot start.
package enum SimulatorError: Error, CustomStringConvertible {
    case noExamples(String)

    package var description: String {
        switch self {
        case .noExamples(let contract): "no valid examples of contract \(contract) in the contracts directory"
        }
    }
}
