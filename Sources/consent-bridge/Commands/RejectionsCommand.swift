import ArgumentParser
import ConsentConfiguration
import ConsentContracts
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `consent-bridge rejections list|show|redrive`: the operator's view from a terminal, through
/// the running operator service's API (so a redrive goes through the live consent gate).
struct RejectionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rejections",
        abstract:
            "List, show and redrive rejected messages through the running operator service (metadata only, never content).",
        subcommands: [RejectionsListCommand.self, RejectionsShowCommand.self, RejectionsRedriveCommand.self]
    )
}

/// Where the operator service is and who is asking.
struct OperatorClientOptions: ParsableArguments {
    @Option(help: "HOST:PORT of the operator service (http.listen-address of the running process).")
    var address: String = "127.0.0.1:8080"

    @Option(
        help:
            "Bearer token (viewer to read, operator to redrive); default: the CONSENT_BRIDGE_OPERATOR_TOKEN environment variable."
    )
    var token: String?

    @Flag(help: "Print the API's JSON instead of a table.")
    var json = false

    /// Sends one request; returns the decoded JSON body or exits with the API's explanation.
    func call(_ path: String, method: String = "GET", body: Data? = nil) async throws -> (
        raw: Data, object: [String: Any]
    ) {
        guard let token = token ?? ProcessInfo.processInfo.environment[ConfigurationLayers.operatorTokenVariable],
            !token.isEmpty
        else {
            throw ValidationError("a bearer token is needed: --token TOKEN or CONSENT_BRIDGE_OPERATOR_TOKEN")
        }
        guard let url = URL(string: "http://\(address)\(path)") else {
            throw ValidationError("--address must be HOST:PORT")
        }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 30
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = body
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            FileHandle.standardError.write(
                Data(
                    "the operator service at \(address) is not reachable (is `consent-bridge run` or `demo` running there?)\n"
                        .utf8))
            throw ExitCode(1)
        }
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            // The API's code and text (fixed strings); a body without them (not the operator
            // service?) gets the status's standard phrase.
            let error = object["error"] as? [String: Any]
            let code = (error?["code"] as? String).map { " \($0)" } ?? ""
            let message = error?["message"] as? String ?? HTTPURLResponse.localizedString(forStatusCode: status)
            FileHandle.standardError.write(Data("refused (\(status)\(code)): \(message)\n".utf8))
            throw ExitCode(status == 401 || status == 403 ? 77 : 1)
        }
        return (data, object)
    }

    func printJSON(_ data: Data) {
        print(String(decoding: data, as: UTF8.self), terminator: data.last == UInt8(ascii: "\n") ? "" : "\n")
    }
}

/// Refuses what cannot be a message id before anything is sent: the API's ids are the sender's
/// `ce_id` or `kafka:<topic>:<partition>:<offset>`, 1 to 200 characters of `A-Z a-z 0-9 . _ : -`
/// (a `/` would make another path of the address, not an id).
func validateMessageIDs(_ ids: [String]) throws {
    guard ids.allSatisfy(CloudEventHeaders.isWellFormedID) else {
        throw ValidationError(
            "not a message id: an id is 1 to 200 characters of A-Z a-z 0-9 . _ : - (as `rejections list` shows it)")
    }
}

/// Plain-text table with columns as wide as their widest cell.
enum TextTable {
    static func render(_ header: [String], _ rows: [[String]]) -> String {
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}

struct RejectionsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List rejections, newest first, with filters and paging.")

    @OptionGroup var client: OperatorClientOptions

    @Option(help: "Reason codes (comma-separated), e.g. no-consent,schema-violation.")
    var reason: String?
    @Option(help: "health-to-nav or nav-to-health.")
    var direction: String?
    @Option(help: "ce_type as listed.")
    var type: String?
    @Option(help: "Received at or after (ISO 8601, e.g. 2026-12-04T10:00:00Z).")
    var from: String?
    @Option(help: "Received before (ISO 8601).")
    var until: String?
    @Option(help: "Page size (1…500).")
    var limit: Int = 50
    @Option(help: "Rows to skip.")
    var offset: Int = 0
    @Flag(help: "Print counts by reason instead of the rows.")
    var counts = false

    func run() async throws {
        var query = URLComponents()
        query.queryItems = [
            ("reason", reason), ("direction", direction), ("type", type), ("from", from), ("until", until),
        ]
        .compactMap { name, value in value.map { URLQueryItem(name: name, value: $0) } }
        if counts {
            query.queryItems?.append(URLQueryItem(name: "bucket", value: "day"))
            let (raw, object) = try await client.call("/api/rejections/counts?" + (query.percentEncodedQuery ?? ""))
            if client.json { return client.printJSON(raw) }
            let totals = (object["totals"] as? [String: Int] ?? [:]).sorted { $0.value > $1.value }
            print(TextTable.render(["reason", "count"], totals.map { [$0.key, String($0.value)] }))
            return
        }
        query.queryItems? += [
            URLQueryItem(name: "limit", value: String(limit)), URLQueryItem(name: "offset", value: String(offset)),
        ]
        let (raw, object) = try await client.call("/api/rejections?" + (query.percentEncodedQuery ?? ""))
        if client.json { return client.printJSON(raw) }
        let items = object["items"] as? [[String: Any]] ?? []
        let rows = items.map { item in
            ["receivedAt", "messageId", "ceType", "direction", "reasonCode", "redrivenOutcome"].map {
                (item[$0] as? String) ?? ""
            }
        }
        print(TextTable.render(["received", "message id", "type", "direction", "reason", "redriven"], rows))
        print("\(items.count) of \(object["total"] as? Int ?? 0) (offset \(offset))")
    }
}

struct RejectionsShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show one rejection: metadata and the reason in English and Norwegian.")

    @OptionGroup var client: OperatorClientOptions

    @Argument(help: "Message id.")
    var messageID: String

    func validate() throws { try validateMessageIDs([messageID]) }

    func run() async throws {
        let encoded = messageID.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? messageID
        let (raw, object) = try await client.call("/api/rejections/\(encoded)")
        if client.json { return client.printJSON(raw) }
        let reason = object["reason"] as? [String: Any] ?? [:]
        let fields: [(String, Any?)] = [
            ("message id", object["messageId"]), ("received", object["receivedAt"]), ("type", object["ceType"]),
            ("source", object["ceSource"]),
            ("direction", object["direction"]),
            ("position", "\(object["sourceTopic"] ?? "")/\(object["partition"] ?? "")/\(object["offset"] ?? "")"),
            ("reason", "\(object["reasonCode"] ?? "")\((reason["rule"] as? String).map { " (\($0))" } ?? "")"),
            ("english", reason["english"]), ("norsk", reason["norwegian"]),
            ("sealed copy", (object["sealed"] as? Bool) == true ? "kept" : "none"),
            ("sealed copy erased", object["sealedCopyErasedAt"]),
            ("redrivable", (object["redrivable"] as? Bool) == true ? "yes" : "no"),
            ("redriven", object["redrivenOutcome"]),
        ]
        print(
            TextTable.render(
                ["field", "value"],
                fields.map {
                    [$0.0, $0.1 is NSNull ? "—" : ($0.1 as? any CustomStringConvertible)?.description ?? "—"]
                }))
    }
}

struct RejectionsRedriveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redrive",
        abstract: "Decide rejections again against the current consent (operator role); at most 100 ids.")

    @OptionGroup var client: OperatorClientOptions

    @Argument(help: "Message ids.")
    var messageIDs: [String]

    func validate() throws {
        guard (1...100).contains(messageIDs.count) else { throw ValidationError("give between 1 and 100 message ids") }
        try validateMessageIDs(messageIDs)
    }

    func run() async throws {
        let body = try JSONSerialization.data(withJSONObject: ["messageIds": messageIDs])
        let (raw, object) = try await client.call("/api/rejections/redrive", method: "POST", body: body)
        if client.json { return client.printJSON(raw) }
        let results = object["results"] as? [[String: Any]] ?? []
        print(
            TextTable.render(
                ["message id", "outcome", "reason"],
                results.map {
                    [
                        $0["messageId"] as? String ?? "", $0["outcome"] as? String ?? "",
                        $0["reasonCode"] as? String ?? "",
                    ]
                }))
    }
}
