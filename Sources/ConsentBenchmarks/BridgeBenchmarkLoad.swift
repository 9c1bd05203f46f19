import ConsentBridge
import ConsentBridgeTesting
import ConsentContracts
package import ConsentKafka
import ConsentPolicy
import Foundation
package import Logging

/// The events `bench bridge` offers: referrals for 64 consented patients, and their consents.
///
/// Built the same way in the measuring process and in a load process of its own, from the
/// published examples, so both offer the same bytes.
package struct BridgeBenchmarkWorkload: Sendable {
    /// One key per patient spreads the events over the partitions. (With one key, all 20,000
    /// events went to one partition; the mock keeps at most ~5 MiB per partition and silently
    /// drops older records, so a bridge lagging by ~4,000 events lost records to the mock.)
    package let patients: [String]
    /// A referral body per patient.
    let bodies: [[UInt8]]
    /// The consent template (the full written consent, for the job specialist alone), as JSON.
    let consentTemplate: Data

    /// Reads the examples under `contractsDirectory`.
    package init(contractsDirectory: String) throws {
        let examples = URL(fileURLWithPath: contractsDirectory).appendingPathComponent("examples")
        var consent =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: examples.appendingPathComponent("consent/valid/granted-full-written.json")))
            as! [String: Any]
        // The job specialist alone: one copy per referral, so the bridge's Kafka work is the
        // equal-work passthrough's (1 in, 3 out). A consent naming the NAV veileder too makes a
        // second copy and notice (5 out; docs/rules.md R9).
        consent["recipientRoles"] = ["ips-job-specialist"]
        consentTemplate = try JSONSerialization.data(withJSONObject: consent)
        let referral =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: examples.appendingPathComponent("referral/valid/not-sick-listed-minimal.json")))
            as! [String: Any]
        patients = NorwegianIdentifier.syntheticFodselsnumre(count: 64)
        bodies = try patients.map { subject in
            var body = referral
            var person = body["patient"] as! [String: Any]
            person["fodselsnummer"] = subject
            body["patient"] = person
            return Array(try JSONSerialization.data(withJSONObject: body))
        }
    }

    /// A consent record for `subject`; `consentID` keeps one consent's versions together.
    package func consent(for subject: String, consentID: String, version: Int, status: String) throws -> [UInt8] {
        var object = try JSONSerialization.jsonObject(with: consentTemplate) as! [String: Any]
        object["patientId"] = subject
        object["consentId"] = consentID
        object["version"] = version
        object["status"] = status
        return Array(try JSONSerialization.data(withJSONObject: object))
    }

    /// `body` as EPJ publishes a consent record: keyed by its person, with the consent contract's
    /// CloudEvents headers (without them the bridge holds the record as no consent).
    package static func consentRecord(_ subject: String, _ body: [UInt8]) -> KafkaOutgoingRecord {
        KafkaOutgoingRecord(topic: "health.consent", key: Array(subject.utf8), value: body, headers: consentHeaders())
    }

    /// The consent contract's CloudEvents headers, with a fresh `ce_id`.
    package static func consentHeaders() -> [KafkaHeader] {
        [
            KafkaHeader(name: "ce_id", string: UUID.random().lowercaseString),
            KafkaHeader(name: "ce_type", string: ContractVocabulary.consentType),
            KafkaHeader(name: "ce_source", string: "urn:bench:epj"),
            KafkaHeader(name: "ce_specversion", string: "1.0"),
            KafkaHeader(name: "ce_time", string: "2026-06-01T09:00:00Z"),
            KafkaHeader(name: "content-type", string: "application/json"),
        ]
    }

    /// Event `index` on `topic`: a referral about patient `index % 64`, with a fresh `ce_id`.
    package func event(_ topic: String, _ index: Int) -> KafkaOutgoingRecord {
        KafkaOutgoingRecord(
            topic: topic, key: Array(patients[index % patients.count].utf8), value: bodies[index % patients.count],
            headers: [
                KafkaHeader(name: "ce_id", string: UUID.random().lowercaseString),
                KafkaHeader(name: "ce_type", string: "no.ips.health.referral.v1"),
                KafkaHeader(name: "ce_source", string: "urn:bench"),
                KafkaHeader(name: "ce_specversion", string: "1.0"),
                KafkaHeader(name: "ce_time", string: "2026-06-01T10:00:00Z"),
                KafkaHeader(name: "content-type", string: "application/json"),
            ])
    }
}

/// What one measured run's load saw: events/s from the first offered event to the last
/// arrival, end-to-end latencies (ms, sorted) and the CPU of the process that offered and read.
package struct BridgeBenchmarkLoadResult: Sendable, Codable {
    package var perSecond: Double
    package var latency: [Double]
    /// CPU time (user and system, every thread) of the process the load ran in, over the run.
    package var cpuSeconds: Double
}

/// The offered load and its reader: offers the events to `health.ips.outbound`, and times
/// each one's arrival on `nav.followup.inbound` (for the bridge: its copy, matched to the event
/// by the receipt). `bench bridge` runs it in a process of its own (`bench load`), so that the
/// measuring process's CPU is the system under test's alone.
package struct BridgeBenchmarkLoad: Sendable {
    package var bootstrapServers: String
    package var events: Int
    /// Offered load in events/s, paced evenly; `nil` offers all events at once (throughput).
    package var rate: Int?
    package var workload: BridgeBenchmarkWorkload
    package var logger: Logger

    /// Creates the load for one run.
    package init(bootstrapServers: String, events: Int, rate: Int?, workload: BridgeBenchmarkWorkload, logger: Logger) {
        self.bootstrapServers = bootstrapServers
        self.events = events
        self.rate = rate
        self.workload = workload
        self.logger = logger
    }

    /// Sends one warm-up event and waits for it (group joins, consent view caught up), calls
    /// `onBegin`, offers the events and reads until every one has arrived.
    package func run(onBegin: @Sendable () -> Void) async throws -> BridgeBenchmarkLoadResult {
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: bootstrapServers), logger: logger)
        let reader = try KafkaConsumer(
            // The bridge's copies carry ids it minted; its receipts say which event each came from.
            configuration: .init(
                client: .init(bootstrapServers: bootstrapServers, properties: BridgeBenchmark.tuning),
                groupID: "bench-reader",
                topics: ["nav.followup.inbound", "health.ips.receipts"]),
            logger: logger)
        try reader.start()
        _ = try await producer.send(workload.event("health.ips.outbound", 0))
        var iterator = reader.batches.makeAsyncIterator()
        while let batch = try await iterator.next(), !batch.contains(where: { $0.topic == "nav.followup.inbound" }) {}

        let records = (0..<events).map { workload.event("health.ips.outbound", $0) }
        onBegin()
        let begin = ContinuousClock.now
        let cpuAtBegin = ProcessCPU.seconds()
        // Offered load: chunks enqueued back to back (not each awaited: awaiting a chunk
        // spread over many partitions took ~50 ms on the mock and capped both systems at
        // ~2,000 events/s); every delivery report is checked at the end. With a rate, each chunk
        // (a 5 ms share of the rate, at least one event) waits for its due time, so latency is
        // measured below saturation.
        let rate = self.rate
        let chunkSize = rate.map { max(1, $0 / 200) } ?? 100
        let sender = Task {
            var times: [String: ContinuousClock.Instant] = [:]
            var pending: [KafkaPendingDelivery] = []
            for chunk in stride(from: 0, to: records.count, by: chunkSize) {
                if let rate {
                    try await Task.sleep(until: begin + .seconds(Double(chunk) / Double(rate)), clock: .continuous)
                }
                let slice = Array(records[chunk..<min(chunk + chunkSize, records.count)])
                let now = ContinuousClock.now
                for record in slice { times[record.headers.string(named: "ce_id")!] = now }
                pending.append(try await producer.enqueue(slice))
            }
            for delivery in pending {
                for result in await delivery.results() { _ = try result.get() }
            }
            return times
        }
        var arrivals: [String: ContinuousClock.Instant] = [:]
        // Fail rather than hang if events go missing (they must not; this is a benchmark).
        let watchdog = Task {
            try await Task.sleep(for: .seconds(max(120, events / 200)))
            await reader.close()
        }
        defer { watchdog.cancel() }
        let sentIDs = Set(records.compactMap { $0.headers.string(named: "ce_id") })
        var sourceOf: [String: String] = [:]  // the bridge's copy id → the event's id
        func sentID(_ arrived: String) -> String? { sentIDs.contains(arrived) ? arrived : sourceOf[arrived] }
        // Arrivals are matched to sent events as soon as both the copy and (for the bridge) its
        // receipt are in, whichever comes first.
        var matched = 0
        while matched < events, let batch = try await iterator.next() {
            let now = ContinuousClock.now
            for record in batch {
                if record.topic == "health.ips.receipts" {
                    guard let receipt = try? BridgeReceipt(json: StrictJSON.parse(record.value ?? [])),
                        let copy = receipt.forwardedID,
                        sourceOf[copy] == nil
                    else { continue }
                    sourceOf[copy] = receipt.messageID
                    if arrivals[copy] != nil, sentIDs.contains(receipt.messageID) { matched += 1 }
                } else if let id = record.headers.string(named: "ce_id"), arrivals[id] == nil {
                    arrivals[id] = now
                    if let original = sentID(id), sentIDs.contains(original) { matched += 1 }
                }
            }
        }
        let end = ContinuousClock.now
        let cpuSeconds = ProcessCPU.seconds() - cpuAtBegin
        guard matched >= events else { throw BenchmarkError.eventsMissing(arrived: matched, expected: events) }
        let sentAt = try await sender.value
        var latency: [Double] = []
        for (id, arrived) in arrivals {
            if let original = sentID(id), let sent = sentAt[original] {
                latency.append((arrived - sent).seconds * 1000)
            }
        }
        await reader.close()
        await producer.close()
        return BridgeBenchmarkLoadResult(
            perSecond: Double(events) / (end - begin).seconds, latency: latency.sorted(), cpuSeconds: cpuSeconds)
    }
}

/// CPU time of this process.
package enum ProcessCPU {
    /// User and system CPU time of this process so far (every thread), in seconds.
    package static func seconds() -> Double {
        var usage = rusage()
        #if canImport(Glibc)
            guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        #else
            guard getrusage(RUSAGE_SELF, &usage) == 0 else { return 0 }
        #endif
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}

/// What this process has written.
package enum ProcessIO {
    /// Bytes this process has passed to `write(2)`-family system calls so far (`wchar` of
    /// `/proc/self/io`): its files (a SQLite store's WAL, and the checkpoints copying it into
    /// the database file) and what it wrote to sockets with them (e.g. to PostgreSQL). Nil
    /// where the kernel does not report it.
    package static func writtenBytes() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/self/io", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("wchar:") {
            return Double(line.dropFirst("wchar:".count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}

/// The whole machine's CPU time by kind, from `/proc/stat` (Linux): what a virtual machine's
/// hypervisor gave to others (`steal`) tells a slow run on a busy host from a slow build.
package struct MachineCPU: Sendable {
    /// Clock ticks since boot, all kinds summed (guest time is already inside user time).
    var totalTicks: Double
    /// Of them, ticks this machine's virtual CPUs were ready to run but the host ran others.
    var stealTicks: Double

    /// The current figures; nil where `/proc/stat` is absent or unreadable.
    package static func now() -> MachineCPU? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = text.split(separator: "\n").first, line.hasPrefix("cpu ")
        else { return nil }
        // `cpu user nice system idle iowait irq softirq steal guest guest_nice`
        let ticks = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard ticks.count >= 8 else { return nil }
        return MachineCPU(totalTicks: ticks.prefix(8).reduce(0, +), stealTicks: ticks[7])
    }

    /// The share of the machine's CPU time from `begin` to `end` that the host gave to others
    /// (0…1); nil over no time.
    static func stealShare(from begin: MachineCPU, to end: MachineCPU) -> Double? {
        let total = end.totalTicks - begin.totalTicks
        return total > 0 ? (end.stealTicks - begin.stealTicks) / total : nil
    }
}

/// CPU time of this process's threads, by thread, from `/proc/self/task` (Linux; nothing
/// elsewhere). The threads that matter name themselves: the store's `sqlite-store` or `postgres-store`,
/// librdkafka's `rdk:…`, the Kafka client's `kafka-consume` and `kafka-delivery`.
package struct ThreadCPU: Sendable {
    /// Seconds on a CPU (user and system) so far and the name, per live thread id.
    var threads: [Int: (name: String, seconds: Double)]

    /// The current figures (empty where `/proc/self/task` is absent).
    package static func now() -> ThreadCPU {
        let tasks = "/proc/self/task"
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        var threads: [Int: (name: String, seconds: Double)] = [:]
        guard ticksPerSecond > 0, let ids = try? FileManager.default.contentsOfDirectory(atPath: tasks) else {
            return ThreadCPU(threads: [:])
        }
        for id in ids {
            // `pid (name) state …`: the name may hold spaces and parentheses, so fields are
            // counted from the last `)`; user and system time are the 12th and 13th after it.
            guard let thread = Int(id),
                let file = FileHandle(forReadingAtPath: "\(tasks)/\(id)/stat"),
                case let stat = String(decoding: file.readDataToEndOfFile(), as: UTF8.self),
                let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
            else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { continue }
            let name = String(stat[stat.index(after: open)..<close])
            threads[thread] = (name, (user + system) / ticksPerSecond)
        }
        return ThreadCPU(threads: threads)
    }

    /// User and system CPU time of the calling thread so far, in nanoseconds, to the
    /// nanosecond (`bench policy` and `bench decide` measure one thread's work).
    static func callingThreadNanoseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }

    /// Seconds the threads whose name `matches` used from `begin` to `end` (threads started in
    /// between count whole; threads that ended in between are not seen).
    static func seconds(from begin: ThreadCPU, to end: ThreadCPU, where matches: (String) -> Bool) -> Double {
        end.threads.reduce(0) { total, entry in
            guard matches(entry.value.name) else { return total }
            return total + entry.value.seconds - (begin.threads[entry.key]?.seconds ?? 0)
        }
    }
}
