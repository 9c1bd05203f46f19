package import ConsentContracts
package import ConsentPolicy
import Foundation
package import Logging
import ServiceLifecycle
import Synchronization

/// The registry of IPS agreements (R14) as the bridge decides with it: read from
/// `agreements.registry` at start and again whenever the file changes (checked every 2 s).
///
/// A file that cannot be read or breaks its schema leaves the registry unreadable, and then no
/// referral crosses (fail closed for referrals only; every other event is decided as before).
/// Why: operators keep agreements under change management as a reviewed file rather than as
/// records on a topic only Kafka tools can edit; every bridge instance reads its copy.
package final class IPSAgreementRegistry: Service, Sendable {
    /// The registry's schema, beside the contracts.
    package static func schemaPath(contractsDirectory: String) -> String {
        contractsDirectory + "/registry/ips-agreements.schema.json"
    }

    /// The registry's schema, read and compiled (nil if it is missing or not a schema).
    package static func schema(contractsDirectory: String) -> JSONSchema? {
        guard let bytes = FileManager.default.contents(atPath: schemaPath(contractsDirectory: contractsDirectory)),
            let document = try? StrictJSON.parse(Array(bytes))
        else { return nil }
        return try? JSONSchema(compiling: document)
    }

    private struct State {
        var agreements: IPSAgreements?
        var fileStamp: [String]?
        var problem: String?
    }

    private let path: String
    private let schema: JSONSchema
    private let logger: Logger
    private let interval: Duration
    private let state = Mutex(State())

    /// Loads the registry at `path` (checked against `schema`) once, now.
    package init(path: String, schema: JSONSchema, logger: Logger, interval: Duration = .seconds(2)) {
        self.path = path
        self.schema = schema
        self.logger = logger
        self.interval = interval
        reload()
    }

    /// The agreements, or nil while the registry cannot be read.
    package var current: IPSAgreements? { state.withLock { $0.agreements } }
    /// Why the registry cannot be read (nil when it can).
    package var problem: String? { state.withLock { $0.problem } }

    /// Reads the file again if it changed (size, modification time or inode).
    package func reload() {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let stamp = attributes.map {
            [
                String(describing: $0[.size] ?? ""), String(describing: $0[.modificationDate] ?? ""),
                String(describing: $0[.systemFileNumber] ?? ""),
            ]
        }
        guard stamp != state.withLock({ $0.fileStamp }) || stamp == nil else { return }
        let outcome: Result<IPSAgreements, IPSAgreements.Problem>
        if let data = FileManager.default.contents(atPath: path) {
            do {
                outcome = .success(try IPSAgreements.parse(Array(data), schema: schema))
            } catch {
                outcome = .failure(error)
            }
        } else {
            outcome = .failure(IPSAgreements.Problem(description: "the file cannot be read"))
        }
        let previousProblem = state.withLock { state -> String? in
            defer {
                state.fileStamp = stamp
                switch outcome {
                case .success(let agreements):
                    state.agreements = agreements
                    state.problem = nil
                case .failure(let problem):
                    state.agreements = nil
                    state.problem = problem.description
                }
            }
            return state.problem
        }
        switch outcome {
        case .success(let agreements):
            logger.notice(
                "IPS agreements registry read", metadata: ["agreements.count": "\(agreements.agreements.count)"])
        case .failure(let problem) where problem.description != previousProblem:
            logger.error(
                "IPS agreements registry unreadable: no referral crosses until it is fixed",
                metadata: ["agreements.problem": "\(problem.description)"])
        case .failure:
            break
        }
    }

    /// Every `interval` until graceful shutdown, reads the file again if it changed (see `reload`).
    package func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: self.interval)
                self.reload()
            }
        }
    }
}
