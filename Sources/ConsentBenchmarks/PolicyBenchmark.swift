import ConsentContracts
package import ConsentPolicy
import Foundation

/// `consent-bridge bench policy`: strict parse + schema validation + decide on a realistic mix
/// of ~1 KiB events, one core, measured per decision.
///
/// The workload is built from the contract examples (`Contracts/examples/*/valid`): each event
/// gets a synthetic fødselsnummer from a population whose consents are mixed (full, narrow,
/// withdrawn, absent), and free text padded so bodies are about 1 KiB. Each timed decision also
/// draws a fresh case reference from the system generator, as the pipeline must.
package enum PolicyBenchmark {
    /// What to run.
    package struct Configuration: Sendable {
        /// Timed decisions.
        package var decisions = 300_000
        /// Untimed decisions first (caches, branch predictors).
        package var warmup = 30_000
        /// Distinct pre-built events cycled through.
        package var distinctEvents = 4096
        /// Patients in the consent view.
        package var patients = 2000
        /// Target body size in bytes.
        package var targetBytes = 1024
        /// Seed for the workload (not for the case references).
        package var seed: UInt64 = 0x1BC0_2026

        /// The defaults above.
        package init() {}
    }

    /// The measured figures.
    package struct Result: Sendable {
        /// Timed decisions.
        package var decisions: Int
        /// Wall-clock seconds for them.
        package var seconds: Double
        /// Decisions per wall-clock second.
        package var decisionsPerSecond: Double
        /// Median wall-clock time per decision.
        package var p50Microseconds: Double
        /// 99th percentile wall-clock time per decision.
        package var p99Microseconds: Double
        /// Mean event body size.
        package var meanBodyBytes: Int
        /// CPU time the benchmark thread used (on a busy shared machine wall time is higher).
        package var cpuSeconds: Double
        /// Decisions per CPU-second of the benchmark thread.
        package var decisionsPerCPUSecond: Double
        /// Outcome code → count over the timed decisions.
        package var outcomes: [String: Int]

        /// Human-readable lines.
        package var report: String {
            var lines = [
                "policy decisions: \(decisions) in \(format(seconds, 3)) s on one core (mean body \(meanBodyBytes) bytes)",
                "decisions/s: \(Int(decisionsPerSecond.rounded())) (wall clock); \(Int(decisionsPerCPUSecond.rounded())) per CPU-second (\(format(cpuSeconds, 3)) s CPU)",
                "per decision: p50 \(format(p50Microseconds, 2)) µs, p99 \(format(p99Microseconds, 2)) µs",
                "outcomes:",
            ]
            for (code, count) in outcomes.sorted(by: { $0.value > $1.value }) {
                lines.append("  \(code): \(count)")
            }
            return lines.joined(separator: "\n")
        }

        /// The machine-readable last line.
        package var jsonLine: String {
            "{\"decisions_per_s\":\(Int(decisionsPerSecond.rounded())),\"p50_us\":\(format(p50Microseconds, 3)),\"p99_us\":\(format(p99Microseconds, 3))}"
        }
    }

    /// The event mix: example (contract/name) and its weight.
    static let mix: [(contract: String, example: String, weight: Int)] = [
        ("job-status-update", "job-started", 20),
        ("job-status-update", "job-ended", 5),
        ("work-relevant-health-information", "functional-ability-and-accommodations", 15),
        ("anonymous-case-discussion", "pre-consent-discussion", 15),
        ("referral", "sick-listed-with-method-supervisor-assessment", 10),
        ("treatment-coordination", "cooperation-meeting", 10),
        ("health-participation-change", "paused-admission", 8),
        ("participation-change", "registered", 7),
        ("candidate-suggestion", "veileder-suggests-candidate", 5),
        ("follow-up-note", "employer-contact", 5),
    ]

    /// A ready workload.
    package struct Workload: Sendable {
        /// Pre-built events, cycled through.
        package var events: [PolicyEvent]
        /// The population's consents.
        package var view: ConsentView
    }

    /// Builds the workload from `contractsDirectory`'s examples.
    package static func workload(catalog: PolicyCatalog, contractsDirectory: String, configuration: Configuration)
        throws -> Workload
    {
        var rng = SeededRandom(seed: configuration.seed)
        var patients: [String] = []
        var view = ConsentView()
        let full: ConsentCategories = [
            .identityAndContact, .ipsParticipation, .workRelevantHealth, .treatmentCoordination, .workStatus,
        ]
        for index in 0..<configuration.patients {
            let patient = syntheticFodselsnummer(&rng)
            patients.append(patient)
            let kind = index % 10
            guard kind < 9 else { continue }  // 10 % never consented
            let record = ConsentRecord(
                patientID: patient, consentID: "bench-\(index)", version: 1, status: kind == 8 ? .withdrawn : .granted,
                categories: kind < 6 ? full : [.identityAndContact, .ipsParticipation, .workStatus],
                recipientRoles: [.ipsJobSpecialist, .navVeileder], directions: [.healthToNav, .navToHealth],
                recordedBy: .init(hprNumber: "9144889", role: "behandler"),
                recordedAt: Timestamp(millisecondsSinceEpoch: 1_772_000_000_000),
                validFrom: Timestamp(millisecondsSinceEpoch: 1_772_000_000_000), validUntil: nil,
                form: kind % 2 == 0 ? .oral : .written)
            view.apply(record)
        }

        var templates: [(plan: ContractPlan, body: JSONValue, weight: Int)] = []
        for entry in mix {
            guard let plan = catalog.plan(named: entry.contract) else {
                throw PolicyBenchmarkError("contract \(entry.contract) missing")
            }
            let path = "\(contractsDirectory)/examples/\(entry.contract)/valid/\(entry.example).json"
            guard let data = FileManager.default.contents(atPath: path) else {
                throw PolicyBenchmarkError("cannot read \(path)")
            }
            let body = try StrictJSON.parse(Array(data))
            templates.append((plan, pad(body, plan: plan, to: configuration.targetBytes), entry.weight))
        }
        let totalWeight = templates.reduce(0) { $0 + $1.weight }

        var events: [PolicyEvent] = []
        events.reserveCapacity(configuration.distinctEvents)
        for _ in 0..<configuration.distinctEvents {
            var pick = Int(rng.next() % UInt64(totalWeight))
            var template = templates[0]
            for candidate in templates {
                if pick < candidate.weight {
                    template = candidate
                    break
                }
                pick -= candidate.weight
            }
            let subject = patients[Int(rng.next() % UInt64(patients.count))]
            var body = replace(template.body, path: template.plan.contract.subjectPath, with: .string(subject))
            // The id is also the `ce_id`, as the contracts say (the policy refuses any other).
            let eventID = uuid(&rng)
            body = replace(body, path: ["eventId"], with: .string(eventID))
            events.append(
                PolicyEvent(
                    headers: CloudEventHeaders(
                        id: eventID, type: template.plan.contract.ceType, source: "urn:bench",
                        time: "2026-10-15T09:00:00Z"),
                    body: body.serializedBytes(), sourceTopic: template.plan.contract.sourceTopic))
        }
        return Workload(events: events, view: view)
    }

    /// Runs the benchmark on the calling thread.
    package static func run(catalog: PolicyCatalog, workload: Workload, configuration: Configuration) -> Result {
        let now = Timestamp(millisecondsSinceEpoch: 1_792_058_400_000)  // 2026-10-15T10:00:00Z
        let events = workload.events
        var sink = 0
        for index in 0..<configuration.warmup {
            let decision = PolicyEngine.decide(
                event: events[index % events.count], consent: workload.view, contracts: catalog, now: now,
                caseReference: .random())
            sink &+= decision.code.utf8.count
        }
        var durations = [Int64](repeating: 0, count: configuration.decisions)
        var outcomes: [String: Int] = [:]
        let clock = ContinuousClock()
        let cpuStart = ThreadCPU.callingThreadNanoseconds()
        let start = clock.now
        var previous = start
        for index in 0..<configuration.decisions {
            let decision = PolicyEngine.decide(
                event: events[index % events.count], consent: workload.view, contracts: catalog, now: now,
                caseReference: .random())
            let instant = clock.now
            durations[index] = nanoseconds(previous.duration(to: instant))
            previous = instant
            if index < events.count { outcomes[decision.code, default: 0] += 1 }
            sink &+= decision.removed.count
        }
        let total = nanoseconds(start.duration(to: previous))
        let cpu = Double(ThreadCPU.callingThreadNanoseconds() - cpuStart) / 1e9
        durations.sort()
        let seconds = Double(total) / 1e9
        var counted: [String: Int] = [:]
        let rounds = Double(configuration.decisions) / Double(min(events.count, configuration.decisions))
        for (code, count) in outcomes { counted[code] = Int((Double(count) * rounds).rounded()) }
        let meanBytes = events.reduce(0) { $0 + $1.body.count } / max(events.count, 1)
        _ = sink
        let microseconds = LatencyStatistics(durations.map { Double($0) / 1000 })
        return Result(
            decisions: configuration.decisions, seconds: seconds,
            decisionsPerSecond: Double(configuration.decisions) / seconds,
            p50Microseconds: microseconds.percentile(0.50), p99Microseconds: microseconds.percentile(0.99),
            meanBodyBytes: meanBytes, cpuSeconds: cpu,
            decisionsPerCPUSecond: Double(configuration.decisions) / max(cpu, 1e-9),
            outcomes: counted)
    }

    // MARK: Workload helpers

    /// Lengthens free text (Norwegian sentences) until the serialized body reaches `target`
    /// bytes, keeping only growth the contract's schema still accepts.
    static func pad(_ body: JSONValue, plan: ContractPlan, to target: Int) -> JSONValue {
        var current = body
        let sentence = " Avtalt videre oppfølging med jobbspesialist og behandler neste uke."
        var paths = textPaths(in: body, plan: plan.root, prefix: [])
        while let path = paths.first {
            let size = current.serializedBytes().count
            guard size < target else { break }
            guard case .string(let existing)? = PolicyEngine.value(at: path, in: current) else {
                paths.removeFirst()
                continue
            }
            let grown = replace(current, path: path, with: .string(existing + String(sentence.prefix(target - size))))
            if plan.contract.schema.isValid(grown) { current = grown } else { paths.removeFirst() }
        }
        return current
    }

    /// Paths of free-text and NAV-internal strings (the fields that make real messages long).
    private static func textPaths(in value: JSONValue, plan: FieldPlan, prefix: [String]) -> [[String]] {
        guard case .object(let object) = value else { return [] }
        var result: [[String]] = []
        for member in object {
            guard let child = plan.children[member.key] else { continue }
            if case .string = member.value, child.classification == .freeText || child.classification == .navInternal {
                result.append(prefix + [member.key])
            } else {
                result += textPaths(in: member.value, plan: child, prefix: prefix + [member.key])
            }
        }
        return result
    }

    private static func replace(_ value: JSONValue, path: [String], with replacement: JSONValue) -> JSONValue {
        guard let head = path.first, case .object(var object) = value, let child = object[head] else { return value }
        object[head] = path.count == 1 ? replacement : replace(child, path: Array(path.dropFirst()), with: replacement)
        return .object(object)
    }

    /// A synthetic fødselsnummer (month + 80) with valid check digits.
    static func syntheticFodselsnummer(_ rng: inout SeededRandom) -> String {
        while true {
            let year = 1950 + Int(rng.next() % 55)
            let month = 1 + Int(rng.next() % 12)
            let day = 1 + Int(rng.next() % 28)
            let individual = year >= 2000 ? 500 + Int(rng.next() % 500) : Int(rng.next() % 500)
            let digits = [
                day / 10, day % 10, (month + 80) / 10, (month + 80) % 10, year % 100 / 10, year % 10,
                individual / 100, individual / 10 % 10, individual % 10,
            ]
            let k1 = (11 - zip(digits, [3, 7, 6, 1, 8, 9, 4, 5, 2]).reduce(0) { $0 + $1.0 * $1.1 } % 11) % 11
            guard k1 != 10 else { continue }
            let k2 = (11 - zip(digits + [k1], [5, 4, 3, 2, 7, 6, 5, 4, 3, 2]).reduce(0) { $0 + $1.0 * $1.1 } % 11) % 11
            guard k2 != 10 else { continue }
            return (digits + [k1, k2]).map(String.init).joined()
        }
    }

    private static func uuid(_ rng: inout SeededRandom) -> String {
        let hex = Array("0123456789abcdef")
        var text = ""
        for (index, length) in [8, 4, 4, 4, 12].enumerated() {
            if index > 0 { text.append("-") }
            for position in 0..<length {
                text.append(index == 2 && position == 0 ? "4" : hex[Int(rng.next() % 16)])
            }
        }
        return text
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let parts = duration.components
        return parts.seconds * 1_000_000_000 + parts.attoseconds / 1_000_000_000
    }

}

/// A benchmark set-up failure (names a file or contract, never data).
package struct PolicyBenchmarkError: Error, CustomStringConvertible {
    package var description: String
    init(_ description: String) { self.description = description }
}

func format(_ value: Double, _ decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    var text = String(rounded)
    if let dot = text.firstIndex(of: ".") {
        let fraction = text[text.index(after: dot)...].count
        if fraction < decimals { text += String(repeating: "0", count: decimals - fraction) }
    }
    return text
}
