import ConsentContracts

/// Turns merged raw values into a typed `BridgeConfiguration`, collecting every issue.
///
/// A key's default is the `default` text of its `ConfigurationKey` (unless it is a
/// placeholder like `<data.directory>/bridge.sqlite`), so documented and actual defaults
/// are the same string.
struct ConfigurationReader {
    let layers: ConfigurationLayers
    private(set) var issues: [ConfigurationError.Issue]
    private var sources: [String: ConfigurationSource] = [:]
    /// Whether a path exists, when the keys naming files and directories are to be checked
    /// (`config check`); nil for `run`, whose components report a missing file themselves.
    private let fileExists: ((String) -> Bool)?

    init(layers: ConfigurationLayers, fileExists: ((String) -> Bool)? = nil) {
        self.layers = layers
        self.issues = layers.issues
        self.fileExists = fileExists
    }

    // MARK: Raw access

    /// The effective raw value of `name`, falling back to a literal default.
    private mutating func raw(_ name: String) -> ConfigurationLayers.RawValue? {
        if let value = layers.values[name] {
            sources[name] = value.source
            return value
        }
        guard let key = ConfigurationKey.named(name), let fallback = key.defaultDescription,
            !fallback.contains("<")
        else { return nil }
        sources[name] = .defaultValue
        return .init(value: fallback, source: .defaultValue)
    }

    private func isExplicit(_ name: String) -> Bool { layers.values[name] != nil }

    /// Reports `name` when the file or directory it names does not exist (only when checking
    /// files). In the same pass as every other issue, so one run lists them all. The message
    /// leaves the path out, as every message leaves values out.
    private mutating func checkExists(_ name: String, _ path: String?) {
        guard let path, let fileExists, !fileExists(path) else { return }
        fail(.missingFile, name, "names a file or directory that does not exist")
    }

    private mutating func fail(_ code: ConfigurationError.Issue.Code, _ name: String, _ message: String) {
        issues.append(.init(code, key: name, message, source: layers.values[name]?.source))
    }

    private mutating func string(_ name: String) -> String? {
        guard let raw = raw(name) else { return nil }
        if raw.value.isEmpty {
            fail(.invalidValue, name, "must not be empty")
            return nil
        }
        return raw.value
    }

    private mutating func requiredString(_ name: String, because reason: String) -> String? {
        guard isExplicit(name) || ConfigurationKey.named(name)?.defaultDescription != nil else {
            fail(.missingValue, name, "required \(reason)")
            return nil
        }
        return string(name)
    }

    /// The comma-separated items of a `.list` key, whitespace removed, empty items skipped
    /// (none when the key is not set).
    private mutating func listItems(_ name: String) -> [String] {
        guard let text = string(name) else { return [] }
        return text.split(separator: ",").map { String($0.filter { !$0.isWhitespace }) }.filter { !$0.isEmpty }
    }

    /// A list of bearer tokens: each long enough to resist guessing and free of characters
    /// an `Authorization` header cannot carry. Messages never repeat a token.
    private mutating func tokens(_ name: String) -> [String] {
        let tokens = listItems(name)
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=")
        for (index, token) in tokens.enumerated() where token.count < 16 || !token.allSatisfy(allowed.contains) {
            fail(.invalidValue, name, "token \(index + 1) must be at least 16 characters of A–Z, a–z, 0–9 and -._~+/=")
        }
        return tokens
    }

    /// A list of `ce_source` URIs, each one the bridge itself would accept in an envelope.
    private mutating func sourceURIs(_ name: String) -> [String] {
        let uris = listItems(name)
        for (index, uri) in uris.enumerated() where !CloudEventHeaders.isWellFormedSource(uri) {
            fail(
                .invalidValue, name,
                "source \(index + 1) must be an absolute URI (`scheme:rest`) of at most 200 characters of A–Z, a–z, 0–9 and ._:-/"
            )
        }
        return uris
    }

    private mutating func bool(_ name: String) -> Bool {
        guard let raw = raw(name) else { return false }
        switch raw.value {
        case "true": return true
        case "false": return false
        default:
            fail(.invalidValue, name, "must be `true` or `false`")
            return false
        }
    }

    private mutating func integer(_ name: String, in range: ClosedRange<Int>) -> Int {
        guard let raw = raw(name) else { return range.lowerBound }
        guard let value = Int(raw.value), range.contains(value) else {
            fail(.invalidValue, name, "must be a whole number in \(range.lowerBound)…\(range.upperBound)")
            return range.lowerBound
        }
        return value
    }

    private mutating func choice<T: RawRepresentable>(_ name: String, as type: T.Type) -> T?
    where T.RawValue == String {
        guard let raw = raw(name) else { return nil }
        guard let value = T(rawValue: raw.value) else {
            let choices = ConfigurationKey.named(name)?.choices.joined(separator: ", ") ?? ""
            fail(.invalidValue, name, "must be one of: \(choices)")
            return nil
        }
        return value
    }

    // MARK: Typed configuration

    mutating func readConfiguration() -> BridgeConfiguration? {
        let roles = readRoles()
        let isEmbedded = bool("embedded")
        let dataDirectory = string("data.directory") ?? "data"
        // The default stores are files in it: a directory that looks like a mistyped store URL
        // (with a password in it) would become their path.
        if let problem = StoreLocation.plainPathProblem(dataDirectory, what: "directory path") {
            fail(.invalidValue, "data.directory", problem)
        }
        let contractsDirectory = string("contracts.directory") ?? "Contracts"
        checkExists("contracts.directory", contractsDirectory)

        let bridgeStore =
            roles.contains(.bridge) ? store("bridge.store", defaultFile: "bridge.sqlite", in: dataDirectory) : nil
        // R14: production names its registry; embedded runs use the development one.
        var agreementsRegistry: String? = nil
        if roles.contains(.bridge) {
            if isExplicit("agreements.registry") {
                agreementsRegistry = string("agreements.registry")
                checkExists("agreements.registry", agreementsRegistry)
            } else if !isEmbedded {
                fail(.missingValue, "agreements.registry", "required by role `bridge` unless `embedded` is true")
            } else {
                agreementsRegistry = contractsDirectory + "/registry/ips-agreements.development.json"
                if let agreementsRegistry, let fileExists, !fileExists(agreementsRegistry) {
                    fail(
                        .missingFile, "agreements.registry",
                        "not set, and contracts.directory holds no registry/ips-agreements.development.json")
                }
            }
        }
        let healthStore =
            roles.contains(.healthSink) ? store("health.store", defaultFile: "health.sqlite", in: dataDirectory) : nil
        let navStore = roles.contains(.navSink) ? store("nav.store", defaultFile: "nav.sqlite", in: dataDirectory) : nil
        let followUpStore =
            roles.contains(.followUpSink)
            ? store("followup.store", defaultFile: "followup.sqlite", in: dataDirectory) : nil
        checkDistinct([
            ("bridge.store", bridgeStore), ("health.store", healthStore), ("nav.store", navStore),
            ("followup.store", followUpStore),
        ])

        // A sink also writes the other party's breach topic (R10): through the other side's
        // cluster when it is configured, else through its own (one shared cluster).
        let navSinks: Set<BridgeRole> = [.navSink, .followUpSink]
        let usesHealth =
            roles.contains(.bridge) || roles.contains(.healthSink)
            || (!roles.isDisjoint(with: navSinks) && isExplicit("health.kafka.bootstrap-servers"))
        let usesNav =
            roles.contains(.bridge) || !roles.isDisjoint(with: navSinks)
            || (roles.contains(.healthSink) && isExplicit("nav.kafka.bootstrap-servers"))
        let healthKafka = kafka(side: "health", isUsed: usesHealth, isEmbedded: isEmbedded)
        let navKafka = kafka(side: "nav", isUsed: usesNav, isEmbedded: isEmbedded)

        // The bridge seals rejected payloads with each side's key; a sink seals what it
        // quarantines (R10) with its own side's key.
        let healthKeys = sealingKeys(
            side: "health", requiredBy: isEmbedded ? [] : roles.filter { $0 == .bridge || $0 == .healthSink }.sorted())
        let navKeys = sealingKeys(
            side: "nav",
            requiredBy: isEmbedded ? [] : roles.filter { $0 == .bridge || navSinks.contains($0) }.sorted())
        if let healthKeys, let navKeys {
            let healthBytes = [healthKeys.current.bytes] + (healthKeys.previous.map { [$0.bytes] } ?? [])
            let navBytes = [navKeys.current.bytes] + (navKeys.previous.map { [$0.bytes] } ?? [])
            if healthBytes.contains(where: navBytes.contains) {
                fail(
                    .conflict, "nav.sealing.key",
                    "the health side and the NAV side must not share a sealing key (separate controllers, R9)")
            }
        }

        let initialBackoff = integer("relay.retry-initial-backoff-ms", in: 1...600_000)
        let maxBackoff = integer("relay.retry-max-backoff-ms", in: 1...3_600_000)
        if initialBackoff > maxBackoff {
            fail(.conflict, "relay.retry-max-backoff-ms", "must not be smaller than relay.retry-initial-backoff-ms")
        }

        let listenAddress: HTTPListenAddress
        if let text = string("http.listen-address"), let parsed = HTTPListenAddress.parse(text) {
            listenAddress = parsed
        } else {
            if layers.values["http.listen-address"].map({ !$0.value.isEmpty }) == true {
                fail(
                    .invalidValue, "http.listen-address", "must be `host:port` or `[ipv6]:port` with a port in 0…65535")
            }
            listenAddress = HTTPListenAddress(host: "127.0.0.1", port: 8080)
        }

        let viewerTokens = tokens("operator.viewer-tokens")
        let operatorTokens = tokens("operator.operator-tokens")
        if !Set(viewerTokens).isDisjoint(with: operatorTokens) {
            fail(.conflict, "operator.operator-tokens", "a token must not be both a viewer's and an operator's")
        }

        let level = string("log.level") ?? "info"
        if !LogSettings.levels.contains(level) {
            fail(.invalidValue, "log.level", "must be one of: \(LogSettings.levels.joined(separator: ", "))")
        }
        let format = choice("log.format", as: LogSettings.Format.self) ?? .text

        let configuration = BridgeConfiguration(
            roles: roles, isEmbedded: isEmbedded, dataDirectory: dataDirectory, contractsDirectory: contractsDirectory,
            bridgeStore: bridgeStore, healthStore: healthStore, navStore: navStore,
            bridgeGroupID: groupID("bridge.group-id"), healthSinkGroupID: groupID("health-sink.group-id"),
            navSinkGroupID: groupID("nav-sink.group-id"),
            healthKafka: healthKafka, navKafka: navKafka, topics: readTopics(),
            batchSize: integer("pipeline.batch-size", in: 1...10_000),
            retryInitialBackoffMilliseconds: initialBackoff, retryMaxBackoffMilliseconds: maxBackoff,
            healthSealingKeys: healthKeys, navSealingKeys: navKeys, httpListenAddress: listenAddress,
            log: LogSettings(level: level, format: format),
            sources: [:])
        var result = configuration
        result.followUpStore = followUpStore
        result.followUpSinkGroupID = groupID("followup-sink.group-id")
        result.kafkaSessionTimeoutMilliseconds = integer("kafka.session-timeout-ms", in: 1000...3_600_000)
        result.kafkaFetchWaitMaxMilliseconds = integer("kafka.fetch-wait-max-ms", in: 0...10_000)
        result.batchLingerMilliseconds = integer("pipeline.batch-linger-ms", in: 0...1_000)
        result.relayShutdownDrainMilliseconds = integer("relay.shutdown-drain-ms", in: 0...25_000)
        result.sealedPayloadRetentionHours = integer("rejections.sealed-payload-retention-hours", in: 1...87_600)
        result.operatorAccess = OperatorAccess(viewerTokens: viewerTokens, operatorTokens: operatorTokens)
        result.knownSources = sourceURIs("operator.known-sources")
        result.agreementsRegistry = agreementsRegistry
        // Record sources last so every key read above is included.
        for key in ConfigurationKey.all where sources[key.name] == nil {
            if let value = layers.values[key.name] { sources[key.name] = value.source }
        }
        result.sources = sources
        return issues.isEmpty ? result : nil
    }

    private mutating func readRoles() -> Set<BridgeRole> {
        guard let text = string("roles") else { return Set(BridgeRole.allCases) }
        var roles: Set<BridgeRole> = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let name = part.trimmingSpaceCharacters()
            guard let role = BridgeRole(rawValue: name) else {
                fail(
                    .invalidValue, "roles",
                    "each role must be one of: \(BridgeRole.allCases.map(\.rawValue).joined(separator: ", "))")
                return Set(BridgeRole.allCases)
            }
            roles.insert(role)
        }
        return roles
    }

    private mutating func store(_ name: String, defaultFile: String, in dataDirectory: String) -> StoreLocation? {
        guard let raw = raw(name) else {
            sources[name] = .defaultValue
            let directory = dataDirectory.hasSuffix("/") ? String(dataDirectory.dropLast()) : dataDirectory
            return .sqlite(path: directory + "/" + defaultFile)
        }
        switch StoreLocation.parse(raw.value) {
        case .success(let location):
            return location
        case .failure(let error):
            fail(.invalidValue, name, error.reason)
            return nil
        }
    }

    /// R9: each side's documentation lives in its own database; identical locations are refused,
    /// and so is one PostgreSQL user shared by two stores (separate credentials).
    private mutating func checkDistinct(_ stores: [(String, StoreLocation?)]) {
        let present = stores.compactMap { name, location in location.map { (name, $0) } }
        for (index, (name, location)) in present.enumerated() {
            for (otherName, other) in present[..<index] {
                if location.identity == other.identity {
                    fail(.conflict, name, "is the same database as \(otherName); each store needs its own (R9)")
                } else if case .postgres(let url) = location, case .postgres(let otherURL) = other,
                    url.host.lowercased() == otherURL.host.lowercased(), url.port == otherURL.port,
                    url.username == otherURL.username
                {
                    fail(
                        .conflict, name,
                        "uses the same PostgreSQL user as \(otherName); each store needs its own credentials (R9)")
                }
            }
        }
    }

    private mutating func groupID(_ name: String) -> String {
        string(name) ?? ConfigurationKey.named(name)?.defaultDescription ?? name
    }

    private mutating func kafka(side: String, isUsed: Bool, isEmbedded: Bool) -> KafkaConnection? {
        let prefix = "\(side).kafka."
        let names = ConfigurationKey.all.map(\.name).filter { $0.hasPrefix(prefix) }
        if isEmbedded {
            for name in names where isExplicit(name) {
                fail(.conflict, name, "must not be set together with `embedded = true`")
            }
            return nil
        }
        guard isUsed else { return nil }
        guard
            let servers = requiredString(
                prefix + "bootstrap-servers", because: "by the selected roles unless `embedded` is true")
        else { return nil }
        if !servers.split(separator: ",").allSatisfy({ HTTPListenAddress.parse($0.trimmingSpaceCharacters()) != nil }) {
            fail(.invalidValue, prefix + "bootstrap-servers", "must be a comma-separated list of host:port")
        }
        let security = choice(prefix + "security-protocol", as: KafkaSecurityProtocol.self) ?? .plaintext
        var connection = KafkaConnection(bootstrapServers: servers, securityProtocol: security)
        connection.caLocation = optional(prefix + "ssl.ca-location")
        connection.certificateLocation = optional(prefix + "ssl.certificate-location")
        connection.keyLocation = optional(prefix + "ssl.key-location")
        connection.keyPassword = optional(prefix + "ssl.key-password")
        checkExists(prefix + "ssl.ca-location", connection.caLocation)
        checkExists(prefix + "ssl.certificate-location", connection.certificateLocation)
        checkExists(prefix + "ssl.key-location", connection.keyLocation)
        connection.saslMechanism =
            isExplicit(prefix + "sasl.mechanism") ? choice(prefix + "sasl.mechanism", as: KafkaSASLMechanism.self) : nil
        connection.saslUsername = optional(prefix + "sasl.username")
        connection.saslPassword = optional(prefix + "sasl.password")

        // Fail closed: a TLS or SASL setting that the protocol would ignore means the operator
        // believes the connection is protected when it is not.
        if !security.usesTLS {
            for name in ["ssl.ca-location", "ssl.certificate-location", "ssl.key-location", "ssl.key-password"]
            where isExplicit(prefix + name) {
                fail(.conflict, prefix + name, "is set but \(prefix)security-protocol is \(security.rawValue) (no TLS)")
            }
        }
        if (connection.certificateLocation == nil) != (connection.keyLocation == nil) {
            fail(
                .conflict, prefix + "ssl.key-location",
                "ssl.certificate-location and ssl.key-location must be set together")
        }
        if connection.keyPassword != nil && connection.keyLocation == nil {
            fail(.conflict, prefix + "ssl.key-password", "is set without \(prefix)ssl.key-location")
        }
        if security.usesSASL {
            for name in ["sasl.mechanism", "sasl.username", "sasl.password"] where !isExplicit(prefix + name) {
                fail(.missingValue, prefix + name, "required with security-protocol \(security.rawValue)")
            }
        } else {
            for name in ["sasl.mechanism", "sasl.username", "sasl.password"] where isExplicit(prefix + name) {
                fail(
                    .conflict, prefix + name, "is set but \(prefix)security-protocol is \(security.rawValue) (no SASL)")
            }
        }
        return connection
    }

    private mutating func optional(_ name: String) -> String? {
        isExplicit(name) ? string(name) : nil
    }

    private mutating func sealingKeys(side: String, requiredBy roles: [BridgeRole]) -> SealingKeyRing? {
        let prefix = "\(side).sealing."
        let current = sealingKey(idKey: prefix + "key-id", keyKey: prefix + "key", requiredBy: roles)
        let previous = sealingKey(idKey: prefix + "previous-key-id", keyKey: prefix + "previous-key", requiredBy: [])
        if let current, let previous {
            if current.id == previous.id {
                fail(.conflict, prefix + "previous-key-id", "must differ from \(prefix)key-id")
            }
            if current.bytes == previous.bytes {
                fail(.conflict, prefix + "previous-key", "must differ from \(prefix)key (rotate to a new key)")
            }
        }
        if previous != nil && current == nil && !isExplicit(prefix + "key") {
            fail(.missingValue, prefix + "key", "required when \(prefix)previous-key is set")
        }
        return current.map { SealingKeyRing(current: $0, previous: previous) }
    }

    private mutating func sealingKey(idKey: String, keyKey: String, requiredBy roles: [BridgeRole]) -> SealingKey? {
        let hasID = isExplicit(idKey)
        let hasKey = isExplicit(keyKey)
        guard hasID || hasKey || !roles.isEmpty else { return nil }
        let requirement =
            "required by role " + roles.map { "`\($0.rawValue)`" }.joined(separator: " and ")
            + " unless `embedded` is true"
        if !hasKey { fail(.missingValue, keyKey, hasID ? "required when \(idKey) is set" : requirement) }
        if !hasID { fail(.missingValue, idKey, hasKey ? "required when \(keyKey) is set" : requirement) }
        // Each half that is given is checked even when the other is missing: every problem is
        // reported at once (docs/configuration.md).
        var id: String?
        if hasID, let text = string(idKey) {
            if SealingKey.isValidID(text) {
                id = text
            } else {
                fail(.invalidValue, idKey, "must be 1…64 letters, digits, `.`, `_` or `-`")
            }
        }
        var bytes: [UInt8]?
        if hasKey, let keyText = string(keyKey) {
            bytes = SealingKey.decodeKey(base64: keyText)
            if bytes == nil {
                fail(
                    .invalidValue, keyKey,
                    "must be standard base64 of exactly 32 random bytes (e.g. `openssl rand -base64 32`)")
            }
        }
        guard let id, let bytes else { return nil }
        return SealingKey(id: id, bytes: bytes)
    }

    private mutating func readTopics() -> TopicNames {
        func topic(_ name: String) -> String {
            guard let value = string(name) else { return "" }
            let isLegal =
                value.count <= 249 && value != "." && value != ".."
                && value.unicodeScalars.allSatisfy {
                    ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                        || $0 == "." || $0 == "_" || $0 == "-"
                }
            if !isLegal {
                fail(.invalidValue, name, "must be a legal Kafka topic name (letters, digits, `.`, `_`, `-`)")
            }
            return value
        }
        let names = TopicNames(
            healthConsent: topic("topics.health-consent"), healthOutbound: topic("topics.health-outbound"),
            navOutbound: topic("topics.nav-outbound"), navInbound: topic("topics.nav-inbound"),
            healthInbound: topic("topics.health-inbound"), healthReceipts: topic("topics.health-receipts"),
            navReceipts: topic("topics.nav-receipts"), healthDisclosures: topic("topics.health-disclosures"),
            navDisclosures: topic("topics.nav-disclosures"), rejected: topic("topics.rejected"),
            healthBreaches: topic("topics.health-breaches"), navBreaches: topic("topics.nav-breaches"),
            followUpOutbound: topic("topics.followup-outbound"), followUpInbound: topic("topics.followup-inbound"),
            followUpReceipts: topic("topics.followup-receipts"),
            followUpDisclosures: topic("topics.followup-disclosures"))
        var firstUse: [String: String] = [:]
        for (key, _) in ConfigurationKey.topicDefaults {
            guard let value = layers.values[key]?.value ?? ConfigurationKey.named(key)?.defaultDescription else {
                continue
            }
            if let other = firstUse[value] {
                fail(.conflict, key, "names the same topic as \(other)")
            } else {
                firstUse[value] = key
            }
        }
        return names
    }
}

extension Substring {
    /// Without leading and trailing spaces (list items like `bridge, nav-sink`).
    fileprivate func trimmingSpaceCharacters() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
