import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Serves `/health/live`, `/health/ready` and `/metrics` on the configured address.
///
/// Readiness is computed by a background loop once a second (consent view caught up, broker
/// and stores reachable, pipelines progressing) and served from that snapshot, so a probe
/// never waits on Kafka. Liveness fails only for what a restart clears (a stalled pipeline).
/// Responses hold only fixed reasons and counters: never personal data.
package struct HealthHTTPServer: Service {
    package let host: String
    package let port: Int
    package let readiness: BridgeReadiness
    package let metrics: BridgeMetrics
    package let logger: Logger

    package init(host: String, port: Int, readiness: BridgeReadiness, metrics: BridgeMetrics, logger: Logger) {
        self.host = host
        self.port = port
        self.readiness = readiness
        self.metrics = metrics
        self.logger = logger
    }

    package func run() async throws {
        let snapshot = ReadinessSnapshot()
        let metrics = self.metrics
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(HealthHandler(snapshot: snapshot, metrics: metrics))
                }
            }
            .bind(host: host, port: port)
            .get()
        logger.notice("Health endpoint listening", metadata: ["http.address": "\(host):\(port)"])
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    let problems = await readiness.problems()
                    snapshot.set(problems, liveness: await readiness.livenessProblems())
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        try? await channel.close()
    }
}

/// The latest readiness problems (empty = ready; nil = not yet computed), and liveness
/// problems (empty = live).
final class ReadinessSnapshot: Sendable {
    private let problems = Mutex<(readiness: [String]?, liveness: [String])>((nil, []))

    func set(_ value: [String], liveness: [String]) { problems.withLock { $0 = (value, liveness) } }
    var current: [String]? { problems.withLock { $0.readiness } }
    var liveness: [String] { problems.withLock { $0.liveness } }
}

private final class HealthHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let snapshot: ReadinessSnapshot
    let metrics: BridgeMetrics

    init(snapshot: ReadinessSnapshot, metrics: BridgeMetrics) {
        self.snapshot = snapshot
        self.metrics = metrics
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let request) = unwrapInboundIn(data) else { return }
        let (status, body, contentType): (HTTPResponseStatus, String, String)
        switch (request.method, request.uri) {
        case (.GET, "/health/live"):
            let problems = snapshot.liveness
            if problems.isEmpty {
                (status, body, contentType) = (.ok, "{\"status\":\"live\"}\n", "application/json")
            } else {
                let reasons = problems.map { "\"\($0)\"" }.joined(separator: ",")
                (status, body, contentType) = (.serviceUnavailable, "{\"status\":\"stalled\",\"reasons\":[\(reasons)]}\n", "application/json")
            }
        case (.GET, "/health/ready"):
            if let problems = snapshot.current, problems.isEmpty {
                // Ready, but say so when records were refused: nothing waits on them (they are
                // settled as failed), yet an operator must know something did not go out.
                let refused = metrics.outboxFailedRows ?? 0
                let detail = refused > 0 ? ",\"refusedOutboxRecords\":\(refused)" : ""
                (status, body, contentType) = (.ok, "{\"status\":\"ready\"\(detail)}\n", "application/json")
            } else {
                let reasons = (snapshot.current ?? ["starting"]).map { "\"\($0)\"" }.joined(separator: ",")
                (status, body, contentType) = (.serviceUnavailable, "{\"status\":\"not-ready\",\"reasons\":[\(reasons)]}\n", "application/json")
            }
        case (.GET, "/metrics"):
            (status, body, contentType) = (.ok, metrics.prometheusText(), "text/plain; version=0.0.4")
        default:
            (status, body, contentType) = (.notFound, "{\"status\":\"not-found\"}\n", "application/json")
        }
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: contentType)
        headers.add(name: "content-length", value: "\(body.utf8.count)")
        headers.add(name: "connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        let channel = context.channel  // Sendable, unlike the context
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
