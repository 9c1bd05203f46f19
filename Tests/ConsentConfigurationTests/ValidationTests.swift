import Foundation
import Testing

@testable import ConsentConfiguration

@Suite("Invalid configuration fails at start, naming the key and never the value")
struct ValidationTests {
    /// (key, environment variable, bad value) for every kind of value that can be wrong.
    static let badValues: [(String, String, String)] = [
        ("roles", "CONSENT_BRIDGE_ROLES", "bridge,S3cretRole"),
        ("embedded", "CONSENT_BRIDGE_EMBEDDED", "S3cret-yes"),
        ("pipeline.batch-size", "CONSENT_BRIDGE_PIPELINE_BATCH_SIZE", "100000000"),
        ("kafka.fetch-wait-max-ms", "CONSENT_BRIDGE_KAFKA_FETCH_WAIT_MAX_MS", "S3cret"),
        // No retention at all, or none that ends, is refused: the payload is the origin side's.
        ("rejections.sealed-payload-retention-hours", "CONSENT_BRIDGE_REJECTIONS_SEALED_PAYLOAD_RETENTION_HOURS", "-1"),
        (
            "rejections.sealed-payload-retention-hours", "CONSENT_BRIDGE_REJECTIONS_SEALED_PAYLOAD_RETENTION_HOURS",
            "87601"
        ),
        ("log.level", "CONSENT_BRIDGE_LOG_LEVEL", "S3cret-loud"),
        ("log.format", "CONSENT_BRIDGE_LOG_FORMAT", "S3cret-xml"),
        ("http.listen-address", "CONSENT_BRIDGE_HTTP_LISTEN_ADDRESS", "S3cret-host"),
        ("bridge.store", "CONSENT_BRIDGE_BRIDGE_STORE", "mysql://u:S3cret@h/db"),
        ("topics.rejected", "CONSENT_BRIDGE_TOPICS_REJECTED", "S3cret topic!"),
        ("health.sealing.key", "CONSENT_BRIDGE_HEALTH_SEALING_KEY", "S3cret-not-base64!!"),
        ("nav.sealing.key-id", "CONSENT_BRIDGE_NAV_SEALING_KEY_ID", "S3cret key id with spaces"),
        // A listed source is shown to operators as written: only what an envelope may carry.
        ("operator.known-sources", "CONSENT_BRIDGE_OPERATOR_KNOWN_SOURCES", "urn:no:epj,S3cret@example.no"),
        ("operator.known-sources", "CONSENT_BRIDGE_OPERATOR_KNOWN_SOURCES", "urn:no:epj,/relative/S3cret"),
    ]

    @Test(arguments: badValues)
    func errorNamesTheKeyNotTheValue(key: String, variable: String, value: String) throws {
        var environment = Planted.productionEnvironment
        environment["CONSENT_BRIDGE_ROLES"] = "bridge,health-sink,nav-sink"
        environment["CONSENT_BRIDGE_HEALTH_STORE"] = "/var/lib/cb/health.sqlite"
        environment["CONSENT_BRIDGE_NAV_STORE"] = "/var/lib/cb/nav.sqlite"
        environment[variable] = value
        let error = try #require(loadError(environment: environment))
        #expect(error.keys.contains(key), "issues: \(error)")
        #expect(!error.description.contains(value))
        #expect(!error.description.contains("S3cret"))
        #expect(error.issues.allSatisfy { $0.source == .environment || $0.key != key })
    }

    @Test func everyProblemIsReportedNotOnlyTheFirst() throws {
        let error = try #require(
            loadError(environment: [
                "CONSENT_BRIDGE_EMBEDDED": "true",
                "CONSENT_BRIDGE_PIPELINE_BATCH_SIZE": "0",
                "CONSENT_BRIDGE_LOG_LEVEL": "chatty",
            ]))
        #expect(Set(error.keys) == ["pipeline.batch-size", "log.level"])
    }

    @Test func knownSourcesAreAListOfURIs() throws {
        let configuration = try BridgeConfiguration.load(
            arguments: ["--embedded"],
            environment: ["CONSENT_BRIDGE_OPERATOR_KNOWN_SOURCES": " urn:no:helse-vest:epj , https://nav.no/ips,,"],
            fileContents: nil)
        #expect(configuration.knownSources == ["urn:no:helse-vest:epj", "https://nav.no/ips"])
        #expect(
            try BridgeConfiguration.load(arguments: ["--embedded"], environment: [:], fileContents: nil).knownSources
                == [])
    }

    @Test func sealingKeyMustBeBase64OfExactly32Bytes() throws {
        for bad in [
            "not base64 at all", Data(count: 16).base64EncodedString(), Data(count: 33).base64EncodedString(), "",
        ] {
            var environment = Planted.productionEnvironment
            environment["CONSENT_BRIDGE_HEALTH_SEALING_KEY"] = bad
            let error = try #require(loadError(environment: environment))
            #expect(error.keys == ["health.sealing.key"])
            if !bad.isEmpty { #expect(!error.description.contains(bad)) }
        }
    }

    @Test func bridgeRoleRequiresBothSidesSealingKeysUnlessEmbedded() throws {
        var environment = Planted.productionEnvironment
        environment["CONSENT_BRIDGE_NAV_SEALING_KEY"] = nil
        environment["CONSENT_BRIDGE_NAV_SEALING_KEY_ID"] = nil
        environment["CONSENT_BRIDGE_NAV_SEALING_PREVIOUS_KEY"] = nil
        environment["CONSENT_BRIDGE_NAV_SEALING_PREVIOUS_KEY_ID"] = nil
        let error = try #require(loadError(environment: environment))
        #expect(Set(error.keys) == ["nav.sealing.key", "nav.sealing.key-id"])
        let embedded = try BridgeConfiguration.load(arguments: ["--embedded"], environment: [:], fileContents: nil)
        #expect(embedded.healthSealingKeys == nil)
    }

    @Test func R9_theTwoSidesNeverShareASealingKey() throws {
        var environment = Planted.productionEnvironment
        environment["CONSENT_BRIDGE_NAV_SEALING_KEY"] = Planted.healthKey
        let error = try #require(loadError(environment: environment))
        #expect(error.keys == ["nav.sealing.key"])
        #expect(!error.description.contains(Planted.healthKey))
    }

    @Test func rotationKeepsThePreviousKeyOpenable() throws {
        let configuration = try BridgeConfiguration.load(
            arguments: [], environment: Planted.productionEnvironment, fileContents: nil)
        let ring = try #require(configuration.navSealingKeys)
        #expect(ring.current.id == "nav-2026-11")
        #expect(ring.key(id: "nav-2026-05")?.bytes == SealingKey.decodeKey(base64: Planted.navPreviousKey))
        #expect(ring.key(id: "unknown") == nil)

        var sameID = Planted.productionEnvironment
        sameID["CONSENT_BRIDGE_NAV_SEALING_PREVIOUS_KEY_ID"] = "nav-2026-11"
        #expect(loadError(environment: sameID)?.keys == ["nav.sealing.previous-key-id"])
        var orphan = Planted.productionEnvironment
        orphan["CONSENT_BRIDGE_NAV_SEALING_PREVIOUS_KEY"] = nil
        #expect(loadError(environment: orphan)?.keys == ["nav.sealing.previous-key"])
    }

    @Test func badPostgresURLsNameTheStoreKey() throws {
        let bad = [
            "postgres://bridge:\(Planted.databasePassword)@db:5432/",  // no database
            "postgres://db:5432/bridge",  // no user
            "postgres://bridge:\(Planted.databasePassword)@:5432/bridge",  // no host
            "postgres://bridge@db:5432/bridge?sslmode=sometimes",
            "postgres://bridge@db:5432/bridge?password=\(Planted.databasePassword)",
            "mysql://bridge@db/bridge",
        ]
        for url in bad {
            var environment = Planted.productionEnvironment
            environment["CONSENT_BRIDGE_BRIDGE_STORE"] = url
            let error = try #require(loadError(environment: environment), "accepted a bad store URL")
            #expect(error.keys == ["bridge.store"])
            #expect(!error.description.contains(Planted.databasePassword))
        }
    }

    /// Store values that look like a mistyped PostgreSQL URL (one with a password in it). They
    /// were taken as SQLite paths: valid, shown in clear by `config print`, and `run` made a
    /// SQLite file under a folder named after the URL.
    static let mistypedStoreURLs = [
        "postgres:/u:pLEAK@h/db", "postgres:u:pLEAK@h/db", "postgres//u:pLEAK@h/db", "sqlite:postgres:/u:pLEAK@h/db",
        "pg:/u:pLEAK@h/db", "postgresql:u:pLEAK@h:5432/db", "data/u:pLEAK@h/store.sqlite", "postgres:pLEAK",
    ]
    static let allRoles = ["--embedded", "true", "--roles", "bridge,health-sink,nav-sink,followup-sink"]

    @Test(arguments: ["bridge.store", "health.store", "nav.store", "followup.store"])
    func storeLocationsThatLookLikeAMistypedURLAreRefusedByKey(key: String) throws {
        let flag = "--" + key.replacingOccurrences(of: ".", with: "-")
        for value in Self.mistypedStoreURLs {
            let error = try #require(loadError(arguments: Self.allRoles + [flag, value]), "accepted \(key)")
            #expect(error.keys == [key], "\(error)")
            #expect(!error.description.contains("pLEAK"))
            #expect(!error.description.contains(value))
        }
    }

    @Test func plainSQLitePathsStayValid() throws {
        for path in [
            "data/bridge.sqlite", "/var/lib/cb/bridge.sqlite", "sqlite:/var/lib/x.db", "sqlite:///var/lib/y.db",
            "./a:b.sqlite", "bridge.sqlite",
        ] {
            let configuration = try BridgeConfiguration.load(
                arguments: ["--embedded", "true", "--bridge-store", path], environment: [:], fileContents: nil)
            #expect(configuration.bridgeStore?.description.hasPrefix("sqlite:") == true)
            #expect(configuration.bridgeStore?.description.contains("redacted") == false, "\(path)")
        }
    }

    @Test func aDataDirectoryThatLooksLikeAURLIsRefused() throws {
        // The default stores are files in it, so it would put the URL into their paths.
        let error = try #require(
            loadError(arguments: ["--embedded", "true", "--data-directory", "postgres:/u:pLEAK@h/"]))
        #expect(error.keys == ["data.directory"])
        #expect(!error.description.contains("pLEAK"))
    }

    @Test func aSealingKeyWithoutItsIDIsCheckedToo() throws {
        // Every problem at once: the missing id and the key that is not base64 of 32 bytes.
        let badKey = try #require(
            loadError(arguments: ["--embedded", "true", "--health-sealing-key", "S3cret-not-base64"]))
        #expect(Set(badKey.keys) == ["health.sealing.key-id", "health.sealing.key"], "\(badKey)")
        #expect(!badKey.description.contains("S3cret"))
        let badID = try #require(
            loadError(arguments: ["--embedded", "true", "--nav-sealing-previous-key-id", "bad id with spaces"]))
        #expect(
            Set(badID.keys) == ["nav.sealing.previous-key", "nav.sealing.previous-key-id"], "\(badID)")
    }

    @Test func R9_eachStoreIsItsOwnDatabase() throws {
        let sameFile = loadError(arguments: [
            "--embedded", "--health-store", "data/x.sqlite", "--nav-store", "./data/../data/x.sqlite",
        ])
        #expect(sameFile?.keys == ["nav.store"])

        let sameDatabase = loadError(arguments: [
            "--embedded", "--roles", "bridge,nav-sink",
            "--bridge-store", "postgres://bridge:a@DB:5432/shared", "--nav-store", "postgres://nav:b@db/shared",
        ])
        #expect(sameDatabase?.keys == ["nav.store"])

        let sameUser = loadError(arguments: [
            "--embedded", "--roles", "health-sink,nav-sink",
            "--health-store", "postgres://ips:\(Planted.databasePassword)@db/health",
            "--nav-store", "postgres://ips:\(Planted.databasePassword)@db/nav",
        ])
        #expect(sameUser?.keys == ["nav.store"])
        #expect(sameUser?.description.contains(Planted.databasePassword) == false)

        let distinct = try BridgeConfiguration.load(
            arguments: [
                "--embedded", "--health-store", "postgres://health:a@db/health", "--nav-store",
                "postgres://nav:b@db/nav",
            ],
            environment: [:], fileContents: nil)
        guard case .postgres(let url) = distinct.navStore else {
            Issue.record("nav store is not PostgreSQL")
            return
        }
        #expect(
            url.username == "nav" && url.password == "b" && url.host == "db" && url.port == 5432
                && url.database == "nav")
    }

    @Test func topicsMustBeDistinct() throws {
        let error = loadError(arguments: ["--embedded", "--topics-nav-inbound", "health.ips.inbound"])
        #expect(
            error?.keys.contains("topics.nav-inbound") == true || error?.keys.contains("topics.health-inbound") == true)
    }

    @Test func relayBackOffBoundsAreOrdered() throws {
        let error = loadError(arguments: [
            "--embedded", "--relay-retry-initial-backoff-ms", "5000", "--relay-retry-max-backoff-ms", "100",
        ])
        #expect(error?.keys == ["relay.retry-max-backoff-ms"])
    }
}
