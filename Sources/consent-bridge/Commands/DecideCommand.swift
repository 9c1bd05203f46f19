import ArgumentParser
import ConsentBridge
import ConsentContracts
import ConsentPolicy
import Foundation

/// `consent-bridge decide`: what would cross for one event under one consent, and why, with
/// no broker and no store: the policy engine the bridge runs, on files.
struct DecideCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decide",
        abstract:
            "Dry run: decide one event against one consent record (or none) and show what would cross, in which form, and why.",
        discussion: """
            The decision is the bridge's own (PolicyEngine.decide, the same contracts); nothing is sent or stored. \
            Omit --consent to see what crosses without consent (the anonymous form, R2, or nothing).
            """
    )

    @Option(help: "The event body (JSON file).")
    var event: String

    @Option(help: "Its contract: a ce_type (no.ips.health.referral.v1) or a contract name (referral).")
    var type: String

    @Option(help: "The patient's current consent record (JSON file, as published on health.consent); omit for none.")
    var consent: String?

    @Option(help: "Contracts directory.")
    var contracts: String = "Contracts"

    @Option(help: "Registry of IPS agreements for referrals (R14; default: the development registry of the contracts).")
    var agreements: String?

    @Flag(help: "Print the decision as JSON.")
    var json = false

    func run() throws {
        let catalog = try ContractCatalog.load(directory: contracts)
        guard let contract = catalog.contract(forCEType: type) ?? catalog.contract(named: type) else {
            throw ValidationError("no contract has the type or name \(type) (see Contracts/asyncapi.yaml)")
        }
        let policy = PolicyCatalog(catalog: catalog)
        let body = try Self.read(event, what: "--event")
        var view = ConsentView()
        if let consent {
            guard let schema = policy.consentSchema else {
                throw ValidationError("the contracts have no consent contract")
            }
            let record = try Self.read(consent, what: "--consent")
            let patient = (try? StrictJSON.parse(record))?.objectValue?["patientId"]?.stringValue ?? ""
            view.apply(key: patient, value: record, schema: schema)
            if case .unreadable = view.state(for: patient) {
                FileHandle.standardError.write(
                    Data(
                        "note: the consent record is not valid under its contract; the bridge treats it as no consent\n"
                            .utf8))
            }
        }
        let headers = CloudEventHeaders(kafkaHeaders: [
            ("ce_id", Array(UUID().uuidString.lowercased().utf8)), ("ce_type", Array(contract.ceType.utf8)),
            ("ce_source", Array("urn:consent-bridge:decide".utf8)), ("ce_specversion", Array("1.0".utf8)),
            ("ce_time", Array(ISO8601DateFormatter().string(from: Date()).utf8)),
            ("content-type", Array("application/json".utf8)),
        ])
        var decision = PolicyEngine.decide(
            event: PolicyEvent(headers: headers, body: body, sourceTopic: contract.sourceTopic), consent: view,
            contracts: policy,
            now: Timestamp(date: Date()), caseReference: CaseReference.random())
        if policy.plan(forCEType: contract.ceType)?.isReferral == true {
            let registry = try? AgreementsInput.load(
                file: agreements ?? contracts + "/registry/ips-agreements.development.json", contracts: contracts)
            decision = decision.requiringIPSAgreement(registry, at: Timestamp(date: Date()))
        }
        if json {
            print(
                String(
                    decoding: try JSONSerialization.data(
                        withJSONObject: Self.json(decision), options: [.sortedKeys, .prettyPrinted]), as: UTF8.self))
        } else {
            print(Self.text(decision, contract: contract))
        }
    }

    private static func read(_ path: String, what: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("\(what) \(path) cannot be read")
        }
        return Array(data)
    }

    static func json(_ decision: PolicyDecision) -> [String: Any] {
        var result: [String: Any] = ["code": decision.code]
        result["removed"] = decision.removed.map {
            ["path": $0.path, "cause": $0.cause.rawValue, "category": $0.consentCategory ?? NSNull()] as [String: Any]
        }
        if let consent = decision.consentUsed {
            result["consent"] = ["consentId": consent.consentID, "version": consent.version]
        }
        switch decision {
        case .forward(let event):
            result["outcome"] = "forward"
            // One copy per recipient role the consent names, each to that role's system (R9, R13).
            result["copies"] = event.copies.map { copy in
                [
                    "role": copy.role, "destinationTopic": copy.destinationTopic,
                    "form": copy.namesSubject ? "identified" : "identified, without the person's identity",
                    "wouldCross": (try? JSONSerialization.jsonObject(with: Data(copy.bytes))) ?? NSNull(),
                ] as [String: Any]
            }
        case .forwardAnonymous(let event):
            result["outcome"] = "forward-anonymous"
            result["form"] = "anonymous"
            result["basis"] = event.basis.code
            result["destinationTopic"] = event.destinationTopic
            result["wouldCross"] = (try? JSONSerialization.jsonObject(with: Data(event.bytes))) ?? NSNull()
            result["generalized"] = event.generalized.map(\.description)
        case .reject(let rejection):
            result["outcome"] = "reject"
            result["reason"] =
                [
                    "code": rejection.reason.code, "rule": rejection.reason.rule ?? NSNull(),
                    "english": rejection.reason.english, "norwegian": rejection.reason.norwegian,
                ] as [String: Any]
            result["violations"] = rejection.violations.map {
                ["pointer": $0.pointer, "keyword": $0.keyword, "message": $0.message]
            }
        }
        return result
    }

    static func text(_ decision: PolicyDecision, contract: MessageContract) -> String {
        var lines: [String] = []
        func pretty(_ bytes: [UInt8]) -> String {
            guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)),
                let data = try? JSONSerialization.data(
                    withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            else { return String(decoding: bytes, as: UTF8.self) }
            return String(decoding: data, as: UTF8.self)
        }
        switch decision {
        case .forward(let event):
            lines.append("decision: forward, \(event.copies.count == 1 ? "one copy" : "\(event.copies.count) copies")")
            for copy in event.copies {
                lines.append(
                    "  for \(copy.role) (\(copy.namesSubject ? "identified" : "without the person's identity")) → \(copy.destinationTopic)"
                )
            }
        case .forwardAnonymous(let event):
            lines.append(
                "decision: forward in anonymous form only (R2; because: \(event.basis.code)) → \(event.destinationTopic)"
            )
        case .reject(let rejection):
            lines.append("decision: reject, \(rejection.reason.code)\(rejection.reason.rule.map { " (\($0))" } ?? "")")
            lines.append("  \(rejection.reason.english)")
            lines.append("  \(rejection.reason.norwegian)")
            for violation in rejection.violations.prefix(20) {
                lines.append(
                    "  field \(violation.pointer.isEmpty ? "/" : violation.pointer): \(violation.keyword): \(violation.message)"
                )
            }
        }
        lines.append(
            "contract: \(contract.name) (\(contract.ceType)), for \(contract.recipientRoles.joined(separator: ", "))")
        if let consent = decision.consentUsed {
            lines.append("consent: \(consent.consentID) version \(consent.version)")
        }
        if !decision.removed.isEmpty {
            lines.append("left out:")
            for removal in decision.removed {
                lines.append(
                    "  \(removal.path)  (\(removal.cause.rawValue)\(removal.consentCategory.map { ": \($0)" } ?? ""))")
            }
        }
        switch decision {
        case .forward(let event):
            for copy in event.copies { lines += ["would cross to \(copy.role):", pretty(copy.bytes)] }
        case .forwardAnonymous(let event): lines += ["would cross:", pretty(event.bytes)]
        case .reject: lines.append("nothing would cross")
        }
        return lines.joined(separator: "\n")
    }
}
