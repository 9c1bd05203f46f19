import ConsentBridgeTesting
import ConsentConfiguration
import ConsentContracts
import ConsentStorage
import ConsentStorageSinkProbe
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 4 item 4: a kill -9 in the middle of a sink batch loses nothing and duplicates nothing.
///
/// The child process (`ConsentStorageSinkProbe`) applies a deterministic source of records
/// with offsets to a SQLite health journal, in random small batches with random replays; the
/// test SIGKILLs it at random moments, restarts it, and finally lets it finish. The Kafka
/// consumer is replaced by that deterministic source: what is under test is that data and
/// offsets commit together, which is the store's job.
@Suite("Sink crash safety")
struct SinkCrashTests {
    static var probeURL: URL? {
        if let override = ProcessInfo.processInfo.environment["CONSENT_STORAGE_SINK_PROBE"] {
            return URL(fileURLWithPath: override)
        }
        // The test runner and the probe are built into the same products folder.
        let runner = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var folder = runner.deletingLastPathComponent()
        while folder.path != "/" {
            let candidate = folder.appendingPathComponent("ConsentStorageSinkProbe")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        return nil
    }

    @Test("R4/R9: SIGKILL mid-batch, restart: every record stored once, refusals once, offsets at the end")
    func killNineLosesNothingAndDuplicatesNothing() async throws {
        let probe = try #require(Self.probeURL, "ConsentStorageSinkProbe binary not found next to the test runner")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sink-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let storePath = folder.appendingPathComponent("health.sqlite").path
        let source = DeterministicSinkSource(partitions: 3, recordsPerPartition: 3000, disclosures: 600)
        // 40 ms between batches: a full run takes ~10 s, so kills land mid-run even when
        // parallel tests slow this test's own timers down (with 10 ms, twice in full runs the
        // probe finished before the first kill once the SQLite stores got faster).
        let arguments = [
            storePath, "\(source.partitions)", "\(source.recordsPerPartition)", "\(source.disclosures)", "40",
        ]

        var kills = 0
        var finished = false
        var progressSeenBetweenKills: [Int64] = []
        for round in 0..<12 {
            let process = try SpawnedProcess(executable: probe.path, arguments: arguments)
            // Random moments, from before the first transaction to deep into the run.
            let delay = Int.random(in: 30...(round < 3 ? 150 : 600))
            if await Self.kill(process, afterMilliseconds: delay) { kills += 1 }
            let termination = process.waitUntilExit()
            let printed = String(decoding: process.readOutputToEnd(), as: UTF8.self)
            if case .exit(let status) = termination {
                #expect(status == 0)
                if printed.contains("done") {
                    finished = true
                    break
                }
            }
            progressSeenBetweenKills.append(try await Self.appliedRecords(storePath))
        }
        if !finished {
            let process = try SpawnedProcess(executable: probe.path, arguments: arguments)
            #expect(process.waitUntilExit() == .exit(0))
        }
        #expect(kills >= 3, "the probe finished too fast to be killed mid-run; raise the record counts")
        #expect(
            progressSeenBetweenKills.contains {
                $0 > 0 && $0 < Int64(source.partitions) * source.recordsPerPartition + source.disclosures
            },
            "no kill landed between the first and the last batch")

        let store = try await HealthJournalStore.open(.sqlite(path: storePath), logger: ScratchLocations.logger)
        let stored = try await store.eventsAwaitingClinician(limit: 1_000_000)
        #expect(stored.count == source.expectedStoredInboundIDs.count, "lost or duplicated events")
        #expect(Set(stored.map(\.ceID)) == source.expectedStoredInboundIDs)
        let refused = try await store.sinkRejections()
        #expect(refused.allSatisfy { $0.reason == .navInternalDocumentation })
        #expect(refused.count == source.expectedRefusedPositions.count)
        #expect(Set(refused.map { "\($0.partition):\($0.offset)" }) == source.expectedRefusedPositions)
        // R10: each follow-up note is quarantined exactly once, sealed, with one notice per breach
        // topic queued, whatever the kills interrupted.
        let quarantined = try await store.quarantined()
        #expect(quarantined.count == source.expectedRefusedPositions.count, "lost or duplicated quarantines")
        #expect(
            Set(quarantined.map { "\($0.source.partition):\($0.source.offset)" }) == source.expectedRefusedPositions)
        #expect(quarantined.allSatisfy { $0.rule == "R3" && $0.messageType == "no.ips.nav.follow-up-note.v1" })
        let pending = try await store.pendingBreachNotices(limit: 100_000)
        #expect(pending.count == quarantined.count * DeterministicSinkSource.breachTopics.count)
        #expect(Set(pending.map(\.breachID)) == Set(quarantined.map(\.breachID)))
        var disclosureCount = 0
        for patient in 0..<5 {
            let records = try await store.disclosures(patientID: DeterministicSinkSource.patientID(for: Int64(patient)))
            #expect(records.allSatisfy { $0.subjectID == DeterministicSinkSource.patientID(for: Int64(patient)) })
            disclosureCount += records.count
        }
        #expect(disclosureCount == Int(source.disclosures))
        let offsets = try await store.offsets(consumerGroup: DeterministicSinkSource.consumerGroup)
        #expect(offsets.count == source.partitionEnds.count)
        for end in source.partitionEnds {
            #expect(
                offsets.contains { $0.topic == end.topic && $0.partition == end.partition && $0.nextOffset == end.end })
        }
        await store.close()
    }

    /// SIGKILLs `process` after `milliseconds` unless it has ended; whether it was killed.
    ///
    /// The wait runs on a thread of its own, not on the test's task: in a full parallel run the
    /// cooperative pool is busy with other suites, and a `Task.sleep` of 100 ms resumed only
    /// after the probe had finished its ~10 s run ("kills 0 >= 3" in CI, twice).
    static func kill(_ process: SpawnedProcess, afterMilliseconds milliseconds: Int) async -> Bool {
        await withCheckedContinuation { continuation in
            let timer = Thread {
                usleep(useconds_t(milliseconds * 1000))
                // Only while it runs: an ended child must not be signalled.
                continuation.resume(returning: process.send(SIGKILL))
            }
            timer.start()
        }
    }

    /// Sum of the stored offsets: how far the probe got (0 before its first commit).
    static func appliedRecords(_ path: String) async throws -> Int64 {
        guard FileManager.default.fileExists(atPath: path) else { return 0 }
        let store = try await HealthJournalStore.open(.sqlite(path: path), logger: ScratchLocations.logger)
        let total = try await store.offsets(consumerGroup: DeterministicSinkSource.consumerGroup).reduce(0) {
            $0 + $1.nextOffset
        }
        await store.close()
        return total
    }
}
