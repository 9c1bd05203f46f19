import Testing

@testable import ConsentConfiguration

@Suite("Secrets are never printed: sealing keys, SASL passwords, database passwords")
struct SecretRedactionTests {
    @Test func redactedDescriptionHoldsNoSecretButShowsWhatIsSet() throws {
        let configuration = try BridgeConfiguration.load(
            arguments: [], environment: Planted.productionEnvironment, fileContents: nil)
        let text = configuration.redactedDescription
        for secret in Planted.secrets {
            #expect(!text.contains(secret))
        }
        #expect("\(configuration)" == text)
        #expect(text.contains("health.kafka.sasl.password = <redacted>  # environment"))
        #expect(text.contains("nav.sealing.previous-key = <redacted>"))
        #expect(text.contains("health.sealing.key-id = health-2026-11"))
        #expect(text.contains("bridge.store = postgres://bridge:***@postgres-bridge:5432/bridge?sslmode=disable"))
        #expect(text.contains("nav.kafka.ssl.key-password = <not set>"))
        // Every documented key has exactly one line.
        #expect(text.split(separator: "\n").count == ConfigurationKey.all.count)
    }

    @Test func secretKeysAreMarkedInTheKeyTable() {
        let secretNames = Set(ConfigurationKey.all.filter(\.isSecret).map(\.name))
        for name in secretNames {
            #expect(
                name.hasSuffix("password") || name.hasSuffix(".key") || name.hasSuffix("previous-key")
                    || name.hasSuffix(".store") || name.hasSuffix("-tokens"),
                "\(name)")
        }
        for side in ["health", "nav"] {
            #expect(
                secretNames.isSuperset(of: [
                    "\(side).kafka.sasl.password", "\(side).kafka.ssl.key-password",
                    "\(side).sealing.key", "\(side).sealing.previous-key", "\(side).store",
                ]))
        }
    }

    @Test("Operator tokens are secrets: counted, never printed; a short or malformed one is refused without echoing it")
    func operatorTokensAreNeverPrinted() throws {
        let viewer = "viewer-token-planted-0123456789"
        let operatorToken = "operator-token-planted-0123456789"
        var environment = Planted.productionEnvironment
        environment["CONSENT_BRIDGE_OPERATOR_VIEWER_TOKENS"] = viewer
        environment["CONSENT_BRIDGE_OPERATOR_OPERATOR_TOKENS"] = operatorToken + ", " + operatorToken + "-2"
        let configuration = try BridgeConfiguration.load(arguments: [], environment: environment, fileContents: nil)
        #expect(
            configuration.operatorAccess
                == OperatorAccess(viewerTokens: [viewer], operatorTokens: [operatorToken, operatorToken + "-2"]))
        let text = configuration.redactedDescription
        #expect(!text.contains(viewer) && !text.contains(operatorToken))
        #expect(text.contains("operator.operator-tokens = <redacted: 2>"))

        environment["CONSENT_BRIDGE_OPERATOR_VIEWER_TOKENS"] = "short-\u{7F}token," + viewer
        environment["CONSENT_BRIDGE_OPERATOR_OPERATOR_TOKENS"] = viewer  // the same token in both roles
        let error = try #require(loadError(arguments: [], environment: environment, file: nil))
        #expect(Set(error.keys) == ["operator.viewer-tokens", "operator.operator-tokens"])
        #expect(!error.description.contains("short-") && !error.description.contains(viewer))
    }

    @Test func errorsFromEveryLayerKeepSecretsOut() throws {
        var environment = Planted.productionEnvironment
        environment["CONSENT_BRIDGE_HEALTH_SEALING_KEY"] = String(Planted.healthKey.dropLast(4))
        environment["CONSENT_BRIDGE_BRIDGE_STORE"] = "postgres://bridge:\(Planted.databasePassword)@/bridge"
        let file = "nav.kafka.sasl.password = \(Planted.navSaslPassword)\nunknown.key = \(Planted.saslPassword)\n"
        let error = try #require(
            loadError(
                arguments: ["--health-kafka-sasl-password", Planted.saslPassword, "--nope", Planted.saslPassword],
                environment: environment, file: file))
        for secret in Planted.secrets {
            #expect(!error.description.contains(secret))
        }
        #expect(Set(error.keys) == ["unknown.key", "--nope", "health.sealing.key", "bridge.store"])
    }

    @Test("A store value that is not plainly a file path is never printed: refused unechoed, or redacted")
    func storeValuesThatAreNotPlainPathsNeverPrint() throws {
        for value in ValidationTests.mistypedStoreURLs {
            // Through the loader (what `config print` shows): refused without the value.
            do {
                let text = try BridgeConfiguration.load(
                    arguments: ValidationTests.allRoles + ["--health-store", value], environment: [:], fileContents: nil
                ).redactedDescription
                #expect(!text.contains("pLEAK"), "config print shows \(value)")
            } catch {
                #expect(!error.description.contains("pLEAK"))
            }
            // And the location itself, however it was made, does not show it.
            #expect(!StoreLocation.sqlite(path: value).description.contains("pLEAK"))
        }
        #expect(
            StoreLocation.sqlite(path: "/var/lib/cb/health.sqlite").description == "sqlite:/var/lib/cb/health.sqlite")
    }

    @Test func storeDescriptionsHideThePasswordButKeepTheLocation() throws {
        let location = try StoreLocation.parse(
            "postgresql://health:\(Planted.databasePassword)@pg.example:6543/journal"
        ).get()
        #expect(location.description == "postgres://health:***@pg.example:6543/journal")
        guard case .postgres(let url) = location else {
            Issue.record("not postgres")
            return
        }
        #expect(url.url.contains(Planted.databasePassword))  // the client still gets it
        #expect(
            try StoreLocation.parse("postgres://nav:pw@db/nav?tlsmode=require").get().description
                == "postgres://nav:***@db:5432/nav?sslmode=require")
        #expect(try StoreLocation.parse("sqlite:///var/lib/x.sqlite").get() == .sqlite(path: "/var/lib/x.sqlite"))
        #expect(try StoreLocation.parse("sqlite:rel.sqlite").get() == .sqlite(path: "rel.sqlite"))
    }

    @Test func sealingKeyDescriptionShowsOnlyTheID() throws {
        let key = SealingKey(id: "h1", bytes: try #require(SealingKey.decodeKey(base64: Planted.healthKey)))
        #expect(key.description == "key h1 (<redacted>)")
        #expect(!"\(SealingKeyRing(current: key, previous: nil))".contains(Planted.healthKey))
    }
}
