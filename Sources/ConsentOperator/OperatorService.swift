package import ConsentBridge
package import ConsentConfiguration
package import ConsentStorage
import Foundation
import HTTPTypes
package import Hummingbird
package import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The operator service on one address: health probes, metrics, the rejections API and the
/// operator page.
///
/// - `/health/live`, `/health/ready`: readiness is computed by a background loop once a second
///   and served from that snapshot, so a probe never waits on Kafka; liveness fails only for
///   what a restart clears.
/// - `/metrics`: Prometheus text.
/// - `/api/…`: rejections (list, counts, redrive) and deliveries per recipient system (counts);
///   bearer tokens with roles (viewer reads, operator also redrives); no token or an unknown
///   one → 401, a viewer redriving → 403.
/// - `/operator`: the page (static: its data comes from the API with the token the operator
///   gives it, which stays in the browser).
///
/// A path served for other methods answers 405 with `Allow`, any other path 404 (both in the
/// API's JSON error form; under `/api` after the token check); HEAD is answered wherever GET is.
///
/// Nothing served holds personal data: fixed reasons, counters, ids, codes and times.
package struct OperatorService: Service {
    package struct Dependencies: Sendable {
        package var readiness: BridgeReadiness
        package var metrics: BridgeMetrics
        package var store: BridgeStore?
        package var redrive: RejectionRedrive?
        package var topics: TopicNames
        package var tokens: OperatorTokens
        /// How a rejection's `ce_source` is shown (`BridgeApplication.operatorSources`).
        package var sources: OperatorSafeSources

        /// Everything the service serves from.
        package init(
            readiness: BridgeReadiness, metrics: BridgeMetrics, store: BridgeStore?, redrive: RejectionRedrive?,
            topics: TopicNames,
            tokens: OperatorTokens, sources: OperatorSafeSources = OperatorSafeSources(known: [], sealer: nil)
        ) {
            self.readiness = readiness
            self.metrics = metrics
            self.store = store
            self.redrive = redrive
            self.topics = topics
            self.tokens = tokens
            self.sources = sources
        }
    }

    package let address: HTTPListenAddress
    package let dependencies: Dependencies
    package let logger: Logger
    /// Called with the bound port once the server listens (port 0 picks a free one).
    package let onListening: @Sendable (Int) async -> Void

    /// Creates the service.
    package init(
        address: HTTPListenAddress, dependencies: Dependencies, logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.address = address
        self.dependencies = dependencies
        self.logger = logger
        self.onListening = onListening
    }

    package func run() async throws {
        let snapshot = ReadinessSnapshot()
        let logger = self.logger
        let address = self.address
        let onListening = self.onListening
        let application = Application(
            router: Self.router(dependencies, snapshot: snapshot, logger: logger),
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? address.port
                logger.notice("Operator service listening", metadata: ["http.address": "\(address.host):\(port)"])
                await onListening(port)
            },
            logger: logger)
        let readiness = dependencies.readiness
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    // A pass can wait on Kafka for seconds, in calls that cannot be interrupted:
                    // at shutdown it is left to finish on its own, so the loop ends at once
                    // (with a cluster down, the stop waited 10–20 s for it here).
                    guard
                        let (problems, liveness) = await Self.unlessCancelled({
                            (await readiness.problems(), await readiness.livenessProblems())
                        })
                    else { return }
                    snapshot.set(problems, liveness: liveness)
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            defer { group.cancelAll() }
            do {
                try await application.run()
            } catch let error as IOError where error.errnoCode == EADDRINUSE {
                throw OperatorServiceError.addressInUse(address.description)
            }
        }
    }

    /// The routes, for the service and for tests (`readiness` is served from `snapshot`).
    package static func router(_ dependencies: Dependencies, snapshot: ReadinessSnapshot, logger: Logger) -> Router<
        OperatorRequestContext
    > {
        // HEAD wherever GET: the same status and headers, no body.
        let router = Router(context: OperatorRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.get("/health/live") { _, _ in
            let problems = snapshot.liveness
            if problems.isEmpty { return OperatorResponse.json(["status": "live"]) }
            return OperatorResponse.json(["status": "stalled", "reasons": problems], status: .serviceUnavailable)
        }
        router.get("/health/ready") { _, _ in
            guard let problems = snapshot.current, problems.isEmpty else {
                return OperatorResponse.json(
                    ["status": "not-ready", "reasons": snapshot.current ?? ["starting"]], status: .serviceUnavailable)
            }
            // Ready, but say so when records were refused: nothing waits on them (they are
            // settled as failed), yet an operator must know something did not go out.
            var body: [String: Any] = ["status": "ready"]
            if let refused = dependencies.metrics.outboxFailedRows, refused > 0 {
                body["refusedOutboxRecords"] = refused
            }
            return OperatorResponse.json(body)
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(string: dependencies.metrics.prometheusText())))
        }
        OperatorPage.register(on: router)
        let authentication = BearerAuthentication(tokens: dependencies.tokens)
        let api = router.group("api").add(middleware: authentication)
        if let store = dependencies.store {
            RejectionsAPI(
                store: store, redrive: dependencies.redrive, topics: dependencies.topics,
                sources: dependencies.sources, logger: logger
            )
            .register(on: api)
            DeliveriesAPI(store: store, topics: dependencies.topics).register(on: api)
        } else {
            api.get("rejections") { _, _ -> Response in
                throw OperatorProblem(
                    .notFound, code: "no-bridge",
                    "This process runs no bridge: rejections are listed where the bridge runs.")
            }
        }
        // Last: it applies only to requests no route above takes (405 or 404, in JSON).
        router.add(middleware: UnmatchedRequests(routes: router.routes, authentication: authentication))
        return router
    }
}

extension OperatorService {
    /// `work`'s result, or nil as soon as the calling task is cancelled: `work` then runs on to
    /// its end in a task of its own, and its result is dropped.
    static func unlessCancelled<Result: Sendable>(_ work: @escaping @Sendable () async -> Result) async -> Result? {
        let outcome = FirstAnswer<Result?>()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                outcome.await(continuation)
                Task { outcome.resolve(await work()) }
            }
        } onCancel: {
            outcome.resolve(nil)
        }
    }
}

/// The latest readiness problems (empty = ready; nil = not yet computed), and liveness
/// problems (empty = live).
package final class ReadinessSnapshot: Sendable {
    private let problems = Mutex<(readiness: [String]?, liveness: [String])>((nil, []))

    package init() {}

    package func set(_ value: [String], liveness: [String]) { problems.withLock { $0 = (value, liveness) } }
    package var current: [String]? { problems.withLock { $0.readiness } }
    package var liveness: [String] { problems.withLock { $0.liveness } }
}

/// Why the operator service could not start.
package enum OperatorServiceError: Error, CustomStringConvertible {
    case addressInUse(String)

    package var description: String {
        switch self {
        case .addressInUse(let address):
            "the operator service's address \(address) is already in use: stop what listens there, or choose another with --http-listen-address HOST:PORT (http.listen-address)"
        }
    }
}
