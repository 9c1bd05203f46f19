import ConsentBridge
import ConsentConfiguration
import ConsentContracts
import ConsentPolicy
import ConsentStorage
import Foundation
import Hummingbird
import Logging

/// `/api/rejections…`: what operators may know about rejected messages (ids, type, reason,
/// position, time; never content) and the redrive of one or many.
struct RejectionsAPI: Sendable {
    let store: BridgeStore
    let redrive: RejectionRedrive?
    let topics: TopicNames
    /// Shows a sender's `ce_source` only if it is one of the deployment's own.
    let sources: OperatorSafeSources
    let logger: Logger

    /// Largest page and largest redrive request.
    static let maximumPageSize = 500
    static let maximumRedriveBatch = 100

    /// The query parameters each listing takes (anything else is refused: a misspelt filter
    /// must not silently list everything).
    static let filterParameters = ["reason", "direction", "type", "from", "until"]
    static let listParameters = filterParameters + ["limit", "offset"]
    static let countsParameters = filterParameters + ["bucket"]

    func register(on group: RouterGroup<OperatorRequestContext>) {
        group.get("reasons") { _, context in
            try context.require(.viewer)
            return OperatorResponse.json(["reasons": (RejectReason.known.map(Self.reasonJSON))])
        }
        group.get("rejections") { request, context in
            try context.require(.viewer)
            let parameters = try Self.checked(request.uri.queryParameters, takes: Self.listParameters)
            let query = try self.query(parameters)
            let limit = try Self.integer(parameters, "limit", default: 50, in: 1...Self.maximumPageSize)
            let offset = try Self.integer(parameters, "offset", default: 0, in: 0...10_000_000)
            let page = try await self.store.rejectionSummaries(query, limit: limit, offset: offset)
            return OperatorResponse.json([
                "total": page.total, "limit": limit, "offset": offset, "items": page.items.map(self.summaryJSON),
            ])
        }
        group.get("rejections/counts") { request, context in
            try context.require(.viewer)
            let parameters = try Self.checked(request.uri.queryParameters, takes: Self.countsParameters)
            let query = try self.query(parameters)
            let bucketName = parameters["bucket"].map(String.init) ?? "hour"
            guard let bucket = RejectionBucket(rawValue: bucketName) else {
                throw OperatorProblem(.badRequest, code: "invalid-bucket", "bucket must be minute, hour or day.")
            }
            let counts = try await self.store.rejectionCounts(query, per: bucket)
            var totals: [String: Int] = [:]
            for count in counts { totals[count.reasonCode, default: 0] += count.count }
            return OperatorResponse.json([
                "bucket": bucket.rawValue,
                "counts": counts.map {
                    ["bucket": $0.bucket, "reasonCode": $0.reasonCode, "count": $0.count] as [String: Any]
                },
                "totals": totals,
            ])
        }
        group.get("rejections/:id") { _, context in
            try context.require(.viewer)
            let id = try Self.messageID(context)
            guard let summary = try await self.store.rejectionSummary(messageID: id) else {
                throw OperatorProblem(.notFound, code: "not-found", "No rejected message has that id.")
            }
            var body = self.summaryJSON(summary)
            body["reason"] = RejectReason.named(summary.reasonCode).map(Self.reasonJSON) ?? ["code": summary.reasonCode]
            body["redrivable"] = self.isRedrivable(summary)
            return OperatorResponse.json(body)
        }
        group.post("rejections/:id/redrive") { _, context in
            try context.require(.operator)
            let id = try Self.messageID(context)
            return OperatorResponse.json(try await self.redrive(id, context: context))
        }
        group.post("rejections/redrive") { request, context in
            try context.require(.operator)
            let body = try await request.body.collect(upTo: 64 * 1024)
            guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
                let ids = object["messageIds"] as? [String], !ids.isEmpty, ids.count <= Self.maximumRedriveBatch,
                ids.allSatisfy(CloudEventHeaders.isWellFormedID)
            else {
                throw OperatorProblem(
                    .badRequest, code: "invalid-request",
                    "The body must be {\"messageIds\": [...]} with 1 to \(Self.maximumRedriveBatch) message ids, each 1 to 200 characters of A-Z a-z 0-9 . _ : -."
                )
            }
            var results: [[String: Any]] = []
            for id in ids { results.append(try await self.redrive(id, context: context)) }
            return OperatorResponse.json(["results": results])
        }
    }

    /// Redrives one rejection; the outcome holds codes only.
    private func redrive(_ messageID: String, context: OperatorRequestContext) async throws -> [String: Any] {
        guard let redrive else {
            throw OperatorProblem(
                .serviceUnavailable, code: "no-bridge", "This process runs no bridge, so it cannot redrive.")
        }
        let outcome: RejectionRedrive.Outcome
        do {
            outcome = try await redrive.redrive(messageID: messageID)
        } catch {
            // Store, broker or consent view not current: the operator may try again; the cause
            // goes to the log (it holds no content), not to the caller.
            logger.error("Redrive failed", metadata: ["operator.error": "\(type(of: error))"])
            throw OperatorProblem(
                .serviceUnavailable, code: "redrive-unavailable", "The redrive could not run now; try again shortly.")
        }
        logger.notice(
            "Redrive requested",
            metadata: ["operator.role": "\(context.role?.rawValue ?? "-")", "operator.outcome": "\(outcome)"])
        var result: [String: Any] = ["messageId": messageID]
        switch outcome {
        case .forwarded: result["outcome"] = "forwarded"
        case .anonymized: result["outcome"] = "anonymized"
        case .stillRejected(let code):
            result["outcome"] = "still-rejected"
            result["reasonCode"] = code
        case .notRedrivable(let code):
            result["outcome"] = "not-redrivable"
            result["reasonCode"] = code
        case .sendAnew:
            result["outcome"] = "send-anew"
            result["reasonCode"] = RejectReason.referralRequiresConsent.code
        case .expired: result["outcome"] = "expired"
        case .alreadyRedriven: result["outcome"] = "already-redriven"
        case .notFound: result["outcome"] = "not-found"
        }
        return result
    }

    /// `parameters` when they hold only names in `names`, each at most once; otherwise 400
    /// (naming the parameters this path takes, never the ones sent).
    static func checked(_ parameters: Parameters, takes names: [String]) throws -> Parameters {
        for (name, _) in parameters where !name.isEmpty && !names.contains(String(name)) {
            throw OperatorProblem(
                .badRequest, code: "unknown-parameter",
                "This path takes only these query parameters: \(names.joined(separator: ", ")).")
        }
        for name in names where parameters[values: Substring(name)].count > 1 {
            throw OperatorProblem(.badRequest, code: "invalid-\(name)", "\(name) may be given only once.")
        }
        return parameters
    }

    private func query(_ parameters: Parameters) throws -> RejectionQuery {
        var query = RejectionQuery()
        if let reasons = parameters["reason"], !reasons.isEmpty {
            let codes = reasons.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard codes.allSatisfy(Self.knownReasonCodes.contains) else {
                throw OperatorProblem(
                    .badRequest, code: "invalid-reason",
                    "reason must be one or more reason codes that GET /api/reasons lists, separated by commas.")
            }
            query.reasonCodes = codes
        }
        if let type = parameters["type"], !type.isEmpty {
            guard Self.isWellFormedType(type) else {
                throw OperatorProblem(
                    .badRequest, code: "invalid-type",
                    "type must be a contract's ce_type (such as no.ips.health.referral.v1) or unknown- and 8 hex digits."
                )
            }
            query.ceType = String(type)
        }
        if let direction = parameters["direction"], !direction.isEmpty {
            switch direction {
            case "health-to-nav"[...]: query.sourceTopics = topics.outbound(of: .health)
            // Both NAV systems' (R9).
            case "nav-to-health"[...]: query.sourceTopics = topics.outbound(of: .nav)
            default:
                throw OperatorProblem(
                    .badRequest, code: "invalid-direction", "direction must be health-to-nav or nav-to-health.")
            }
        }
        (query.from, query.until) = try Self.period(parameters)
        return query
    }

    /// Every reason code a rejection can carry.
    private static let knownReasonCodes = Set(RejectReason.known.map(\.code))

    /// Whether `type` can be a `ceType` the API shows: a contract's type
    /// (`no.ips.<name>(.<name>)+.v<N>`) or `unknown-<8 hex>` (Contracts/schemas/rejected.schema.json).
    /// A well-formed type nothing was rejected for simply lists nothing.
    static func isWellFormedType(_ type: Substring) -> Bool {
        let bytes = Array(type.utf8)
        guard bytes.count <= 200 else { return false }
        func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        func isName(_ part: ArraySlice<UInt8>) -> Bool {
            !part.isEmpty
                && part.allSatisfy {
                    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || isDigit($0) || $0 == UInt8(ascii: "-")
                }
        }
        let unknown = Array("unknown-".utf8)
        if bytes.starts(with: unknown) {
            let hex = bytes.dropFirst(unknown.count)
            return hex.count == 8
                && hex.allSatisfy { isDigit($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
        }
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count >= 5, parts[0].elementsEqual("no".utf8), parts[1].elementsEqual("ips".utf8),
            let version = parts.last, version.first == UInt8(ascii: "v"), version.count > 1,
            version.dropFirst().allSatisfy(isDigit)
        else { return false }
        return parts.dropFirst(2).dropLast().allSatisfy(isName)
    }

    /// The `:id` of the path, when it can be a message id (the sender's `ce_id` or
    /// `kafka:<topic>:<partition>:<offset>`: 1 to 200 characters of `A-Z a-z 0-9 . _ : -`).
    private static func messageID(_ context: OperatorRequestContext) throws -> String {
        guard let id = context.parameters.get("id"), CloudEventHeaders.isWellFormedID(id) else {
            throw OperatorProblem(
                .badRequest, code: "invalid-id", "A message id is 1 to 200 characters of A-Z a-z 0-9 . _ : -.")
        }
        return id
    }

    /// `from` and `until`, each optional, `from` before `until` when both are given.
    static func period(_ parameters: Parameters) throws -> (from: Date?, until: Date?) {
        let from = try time(parameters, "from")
        let until = try time(parameters, "until")
        if let from, let until, from >= until {
            throw OperatorProblem(.badRequest, code: "invalid-period", "from must be earlier than until.")
        }
        return (from, until)
    }

    static func time(_ parameters: Parameters, _ name: String) throws -> Date? {
        guard let text = parameters[Substring(name)], !text.isEmpty else { return nil }
        guard let date = try? Date(String(text), strategy: .iso8601) else {
            throw OperatorProblem(
                .badRequest, code: "invalid-\(name)", "\(name) must be an ISO 8601 time such as 2026-12-04T10:00:00Z.")
        }
        return date
    }

    private static func integer(
        _ parameters: Parameters, _ name: String, default value: Int, in range: ClosedRange<Int>
    ) throws -> Int {
        guard let text = parameters[Substring(name)] else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw OperatorProblem(
                .badRequest, code: "invalid-\(name)",
                "\(name) must be a whole number in \(range.lowerBound)…\(range.upperBound).")
        }
        return number
    }

    private func summaryJSON(_ summary: RejectionSummary) -> [String: Any] {
        let origin = topics.side(of: summary.sourceTopic)
        var json: [String: Any] = [
            "messageId": summary.messageID, "reasonCode": summary.reasonCode,
            "receivedAt": summary.receivedAt.formatted(Self.timeStyle),
            "direction": origin == .nav ? "nav-to-health" : "health-to-nav",
            "sourceTopic": summary.sourceTopic, "partition": summary.partition, "offset": summary.offset,
            "sealed": summary.isSealed,
        ]
        json["ceType"] = summary.ceType ?? NSNull()
        json["ceSource"] = sources.shown(summary.ceSource, origin: origin) ?? NSNull()
        json["redrivenOutcome"] = summary.redrivenOutcome ?? NSNull()
        json["sealedCopyErasedAt"] = summary.sealedPayloadErasedAt.map { $0.formatted(Self.timeStyle) } ?? NSNull()
        json["redrivable"] = isRedrivable(summary)
        return json
    }

    /// Whether a redrive may still let this rejection through (and this process can redrive):
    /// not once its sealed copy's retention has ended.
    private func isRedrivable(_ summary: RejectionSummary) -> Bool {
        guard let redrive, summary.redrivenOutcome == nil else { return false }
        return redrive.isRedrivable(reasonCode: summary.reasonCode, ceType: summary.ceType)
            && !redrive.hasExpired(receivedAt: summary.receivedAt, erasedAt: summary.sealedPayloadErasedAt)
    }

    private static func reasonJSON(_ reason: RejectReason) -> [String: Any] {
        [
            "code": reason.code, "rule": reason.rule ?? NSNull(), "english": reason.english,
            "norwegian": reason.norwegian,
            "redrivable": RejectionRedrive.isRedrivable(reasonCode: reason.code),
        ]
    }

    private static let timeStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}
