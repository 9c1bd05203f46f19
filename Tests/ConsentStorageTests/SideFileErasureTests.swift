import ConsentBridgeTesting
import ConsentConfiguration
import ConsentStorage
import Foundation
import Testing

/// R9 on disk: what the bridge store erases (a handed-over copy's payload, key and re-check
/// headers; an expired rejection's sealed payload) must not stay readable in SQLite's side
/// files. `secure_delete` zeroes it in the database file, but the WAL keeps every page image
/// written since it was last cut back, until later frames happen to overwrite it: an audit
/// of a running bridge found erased payloads there minutes after they were erased.
@Suite("Erased content in a SQLite store's files")
struct SideFileErasureTests {
    /// Records `batches` batches of forwarded events and rejections carrying `marker` in every
    /// place the store erases (payload, key, the person's re-check header, sealed payload),
    /// and returns the outbox rows' numbers. Several transactions, so that the WAL holds
    /// several images of the same pages, as under traffic.
    private static func record(_ store: BridgeStore, marker: String, batches: Int = 4, from first: Int = 0)
        async throws -> [Int64]
    {
        var sequences: [Int64] = []
        for batch in 0..<batches {
            let messages = (0..<30).map { index -> BridgeMessageRecord in
                let number = first + batch * 100 + index
                if index % 3 == 2 {
                    var rejected = Fixtures.message("r\(number)", offset: Int64(number), outcome: .reject)
                    rejected.rejection?.sealedPayload = Array("sealed:\(marker):\(number)".utf8)
                    return rejected
                }
                var forwarded = Fixtures.message("f\(number)", offset: Int64(number))
                forwarded.outbox[0].payload = Array(
                    "{\"eventId\":\"f\(number)\",\"note\":\"neighbour \(marker) \(number)\"}".utf8)
                forwarded.outbox[0].key = Array("key:\(marker)".utf8)
                forwarded.outbox[0].headers.append(
                    MessageHeader(name: BridgeHeaders.internalSubject, text: marker))
                return forwarded
            }
            let recorded = try await store.record(BridgeBatch(messages: messages, offsets: []))
            sequences += recorded.outbox.map(\.sequence)
        }
        return sequences
    }

    /// Erases what the product erases: the relay settles every outbox row (published), and the
    /// retention pass erases the rejections' sealed payloads.
    private static func erase(_ store: BridgeStore, sequences: [Int64]) async throws {
        try await store.markPublished(sequences: sequences)
        while try await store.eraseSealedPayloads(
            receivedBefore: Fixtures.time.addingTimeInterval(1), limit: 50) > 0
        {}
        #expect(try await store.storedOutboxContent().allSatisfy(\.isErased))
    }

    /// The store's files (the database, its WAL and the WAL's index) whose raw bytes hold
    /// `marker`, by suffix ("" for the database file).
    private static func filesHolding(_ marker: String, path: String) -> [String] {
        let needle = Data(marker.utf8)
        return ["", "-wal", "-shm"].filter { suffix in
            guard let bytes = FileManager.default.contents(atPath: path + suffix) else { return false }
            return bytes.range(of: needle) != nil
        }
    }

    private static func sqlitePath(_ location: StoreLocation) throws -> String {
        guard case .sqlite(let path) = location else { throw StorageError(.connectionFailed, "not a SQLite file") }
        return path
    }

    @Test("R9: erased content is in none of the store's files on disk, the WAL included, after the checkpointer's pass")
    func erasedContentLeavesTheWAL() async throws {
        try await withScratch(.sqlite) { scratch in
            let location = try await scratch.make("bridge")
            let path = try Self.sqlitePath(location)
            let store = try await BridgeStore.open(location, logger: ScratchLocations.logger)
            let marker = "Tredjeperson" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
            let sequences = try await Self.record(store, marker: marker)
            // Otherwise the test proves nothing. (In the WAL, or already in the database file if
            // the running checkpointer cut the WAL meanwhile, as under a loaded machine.)
            #expect(!Self.filesHolding(marker, path: path).isEmpty, "the store's files never held the content")
            try await Self.erase(store, sequences: sequences)
            try await store.database.checkpointNow()
            #expect(Self.filesHolding(marker, path: path) == [], "erased content is still in the store's files")
            await store.close()
        }
    }

    @Test("R9: a running store's checkpointer removes erased content from the WAL by itself, within seconds")
    func erasedContentLeavesTheWALUnasked() async throws {
        try await withScratch(.sqlite) { scratch in
            let location = try await scratch.make("bridge")
            let path = try Self.sqlitePath(location)
            let store = try await BridgeStore.open(location, logger: ScratchLocations.logger)
            /// Waits (ten seconds at most, the bound being about one) until `done` holds.
            func waitUntil(_ done: () -> Bool) async throws {
                let deadline = ContinuousClock.now + .seconds(10)
                while !done(), ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            // A first round, until the checkpointer has cut the WAL back once: the second
            // round's content is then cut by the next truncation, due a second after that one.
            try await Self.erase(
                store, sequences: try await Self.record(store, marker: "first", batches: 1, from: 1_000))
            try await waitUntil {
                (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) == 0
            }
            let marker = "Tredjeperson" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
            try await Self.erase(store, sequences: try await Self.record(store, marker: marker))
            try await waitUntil { Self.filesHolding(marker, path: path).isEmpty }
            #expect(
                Self.filesHolding(marker, path: path) == [], "erased content is still in the store's files after 10 s")
            await store.close()
        }
    }
}
