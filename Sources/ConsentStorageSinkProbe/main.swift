// The sink crash-test child process (Tests/ConsentStorageTests/SinkCrashTests.swift).
//
// Applies the deterministic source's records to a health journal store (SQLite file) in
// small random batches, resuming from the offsets stored in the same database, until every
// record is applied; then prints "done". The test SIGKILLs it at random moments and checks
// that after the final run nothing is lost and nothing is duplicated.
//
// Usage: ConsentStorageSinkProbe STORE_PATH PARTITIONS RECORDS_PER_PARTITION DISCLOSURES [BATCH_PAUSE_MS]
// BATCH_PAUSE_MS slows the run down so the test's kills land mid-run even when the test
// process itself is slowed by other tests running in parallel.
import ConsentConfiguration
import ConsentStorage
import Foundation
import Logging

let arguments = CommandLine.arguments
guard arguments.count == 5 || arguments.count == 6, let partitions = Int32(arguments[2]),
    let perPartition = Int64(arguments[3]),
    let disclosures = Int64(arguments[4])
else {
    FileHandle.standardError.write(
        Data("usage: ConsentStorageSinkProbe STORE_PATH PARTITIONS RECORDS DISCLOSURES\n".utf8))
    exit(64)
}
let batchPause = arguments.count == 6 ? Int(arguments[5]) ?? 0 : 0
var logger = Logger(label: "sink-probe")
logger.logLevel = .error
let source = DeterministicSinkSource(
    partitions: partitions, recordsPerPartition: perPartition, disclosures: disclosures)

do {
    let store = try await HealthJournalStore.open(
        .sqlite(path: arguments[1]), breaches: DeterministicSinkSource.breachReporting, logger: logger)
    var next: [String: Int64] = [:]
    for offset in try await store.offsets(consumerGroup: DeterministicSinkSource.consumerGroup) {
        next["\(offset.topic)#\(offset.partition)"] = offset.nextOffset
    }
    var generator = SystemRandomNumberGenerator()
    while true {
        var records: [SinkRecord] = []
        for (topic, partition, end) in source.partitionEnds {
            let start = next["\(topic)#\(partition)"] ?? 0
            let count = Int64.random(in: 1...25, using: &generator)
            for offset in start..<min(end, start + count) {
                records.append(source.record(topic: topic, partition: partition, offset: offset))
            }
        }
        if records.isEmpty { break }
        // Sometimes re-deliver the last few records again (a consumer replay after a rebalance).
        if Bool.random(using: &generator), let last = records.last {
            records.append(last)
        }
        let result = try await store.apply(
            SinkBatch(consumerGroup: DeterministicSinkSource.consumerGroup, records: records))
        for offset in result.offsets { next["\(offset.topic)#\(offset.partition)"] = offset.nextOffset }
        if batchPause > 0 { try await Task.sleep(for: .milliseconds(batchPause)) }
    }
    await store.close()
    print("done")
} catch {
    FileHandle.standardError.write(Data("sink probe failed: \(error)\n".utf8))
    exit(1)
}
