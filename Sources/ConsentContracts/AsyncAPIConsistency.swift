/// Checks `asyncapi.yaml` (as JSON) against the loaded contracts and ARCHITECTURE.md's topics.
struct AsyncAPIConsistency {
    private let document: JSONValue
    private let contracts: [MessageContract]
    private let directory: String
    private let file = "asyncapi.yaml"
    private(set) var diagnostics: [ContractDiagnostic] = []
    private(set) var channelCount = 0

    /// Required CloudEvents binary-mode headers on every message.
    static let cloudEventHeaders = ["ce_id", "ce_type", "ce_source", "ce_time", "ce_specversion", "content-type"]

    init(document: JSONValue, contracts: [MessageContract], directory: String) {
        self.document = document
        self.contracts = contracts
        self.directory = directory
    }

    mutating func check() {
        guard let root = document.objectValue else {
            error("", "the AsyncAPI document must be a mapping")
            return
        }
        if root["asyncapi"]?.stringValue != "3.0.0" { error("/asyncapi", "must be \"3.0.0\"") }
        if root["info"]?.objectValue?["title"]?.stringValue == nil { error("/info/title", "missing") }

        // Messages: each references one schema file and pins ce_type.
        var contractByMessage: [String: MessageContract] = [:]
        let messages = root["components"]?.objectValue?["messages"]?.objectValue ?? JSONObject()
        if messages.count == 0 { error("/components/messages", "no messages") }
        var referencedSchemas: Set<String> = []
        for member in messages {
            let here = "/components/messages/" + JSONPointer.escape(member.key)
            guard let message = member.value.objectValue else {
                error(here, "must be a mapping")
                continue
            }
            guard let reference = message["payload"]?.objectValue?["$ref"]?.stringValue else {
                error(here + "/payload", "payload must be {$ref: './schemas/<name>.schema.json'}")
                continue
            }
            guard reference.hasPrefix("./schemas/"), reference.hasSuffix(".schema.json") else {
                error(here + "/payload/$ref", "must point into ./schemas/")
                continue
            }
            let name = String(reference.dropFirst("./schemas/".count).dropLast(".schema.json".count))
            referencedSchemas.insert(name)
            guard let contract = contracts.first(where: { $0.name == name }) else {
                error(here + "/payload/$ref", "no loadable schema '\(name)'")
                continue
            }
            contractByMessage[member.key] = contract
            checkHeaders(message["headers"], contract: contract, at: here + "/headers")
            if let ceType = message["x-ce-type"]?.stringValue, ceType != contract.ceType {
                error(here + "/x-ce-type", "differs from the schema's x-ce-type")
            }
        }
        for contract in contracts where !referencedSchemas.contains(contract.name) {
            diagnostics.append(
                ContractDiagnostic(
                    file: "schemas/\(contract.name).schema.json", pointer: "",
                    message: "no AsyncAPI message references this schema"))
        }

        // Channels: one per topic, address = topic, Kafka binding, messages whose topics match.
        var channelKeyByTopic: [String: String] = [:]
        var topicsCarrying: [String: Set<String>] = [:]  // contract name → topics whose channel lists it
        let channels = root["channels"]?.objectValue ?? JSONObject()
        channelCount = channels.count
        for member in channels {
            let here = "/channels/" + JSONPointer.escape(member.key)
            guard let channel = member.value.objectValue, let address = channel["address"]?.stringValue else {
                error(here + "/address", "missing")
                continue
            }
            guard ContractVocabulary.topics.contains(address) else {
                error(here + "/address", "'\(address)' is not a topic of ARCHITECTURE.md")
                continue
            }
            if channelKeyByTopic[address] != nil { error(here + "/address", "topic described twice") }
            channelKeyByTopic[address] = member.key
            checkKafkaBinding(channel["bindings"], topic: address, at: here + "/bindings")
            for messageMember in channel["messages"]?.objectValue ?? JSONObject() {
                let messageHere = here + "/messages/" + JSONPointer.escape(messageMember.key)
                guard let reference = messageMember.value.objectValue?["$ref"]?.stringValue,
                    reference.hasPrefix("#/components/messages/")
                else {
                    error(messageHere, "must be {$ref: '#/components/messages/<name>'}")
                    continue
                }
                let messageKey = JSONPointer.tokens(String(reference.dropFirst()))?.last ?? ""
                guard let contract = contractByMessage[messageKey] else {
                    if messages[messageKey] == nil { error(messageHere + "/$ref", "does not resolve") }
                    continue
                }
                let allowed = Set([contract.sourceTopic] + contract.destinationTopics)
                    .union(bridgeTopics(contract))
                if !allowed.contains(address) {
                    error(
                        messageHere,
                        "message '\(messageKey)' travels on \(allowed.sorted().joined(separator: ", ")), not \(address)"
                    )
                }
                topicsCarrying[contract.name, default: []].insert(address)
            }
        }
        for topic in ContractVocabulary.topics.sorted() where channelKeyByTopic[topic] == nil {
            error("/channels", "no channel for topic \(topic)")
        }
        for contract in contracts {
            let expected = Set([contract.sourceTopic] + contract.destinationTopics)
                .union(bridgeTopics(contract))
            for topic in expected.sorted() where !(topicsCarrying[contract.name]?.contains(topic) ?? false) {
                diagnostics.append(
                    ContractDiagnostic(
                        file: file, pointer: "/channels",
                        message: "the channel for \(topic) does not list a message for schema '\(contract.name)'"))
            }
        }

        // Operations: send/receive on an existing channel, messages from that channel.
        let operations = root["operations"]?.objectValue ?? JSONObject()
        if operations.count == 0 { error("/operations", "no operations") }
        for member in operations {
            let here = "/operations/" + JSONPointer.escape(member.key)
            guard let operation = member.value.objectValue else {
                error(here, "must be a mapping")
                continue
            }
            let action = operation["action"]?.stringValue
            if action != "send", action != "receive" { error(here + "/action", "must be send or receive") }
            guard let reference = operation["channel"]?.objectValue?["$ref"]?.stringValue,
                reference.hasPrefix("#/channels/"),
                let channelKey = JSONPointer.tokens(String(reference.dropFirst()))?.last,
                channels[channelKey] != nil
            else {
                error(here + "/channel", "must reference a channel of this document")
                continue
            }
            for (position, entry) in (operation["messages"]?.arrayValue ?? []).enumerated() {
                guard let messageRef = entry.objectValue?["$ref"]?.stringValue,
                    JSONPointer.resolve(String(messageRef.dropFirst()), in: document) != nil,
                    messageRef.hasPrefix("#/channels/\(JSONPointer.escape(channelKey))/messages/")
                else {
                    error(here + "/messages/\(position)", "must reference a message of the operation's channel")
                    continue
                }
            }
        }
    }

    private func bridgeTopics(_ contract: MessageContract) -> Set<String> {
        guard contract.direction == .bridge else { return [] }
        // Bridge contracts may be written to every topic named in their x-topics.
        return Set(bridgeTopicList(contract))
    }

    private func bridgeTopicList(_ contract: MessageContract) -> [String] {
        guard let bytes = readSchema(contract.name),
            let value = try? StrictJSON.parse(bytes, limits: JSONParseLimits(maxDepth: 64, maxBytes: 4 << 20)),
            let list = value.objectValue?["x-topics"]?.arrayValue
        else { return [contract.sourceTopic] }
        return list.compactMap(\.stringValue)
    }

    private func readSchema(_ name: String) -> [UInt8]? {
        ContractFiles.read(directory + "/schemas/\(name).schema.json")
    }

    private mutating func checkHeaders(_ headers: JSONValue?, contract: MessageContract, at pointer: String) {
        guard let headers = headers?.objectValue, let properties = headers["properties"]?.objectValue else {
            error(pointer, "CloudEvents headers must be described (type object with properties)")
            return
        }
        let required = Set((headers["required"]?.arrayValue ?? []).compactMap(\.stringValue))
        for header in Self.cloudEventHeaders {
            if properties[header] == nil { error(pointer + "/properties", "header \(header) not described") }
            if !required.contains(header) { error(pointer + "/required", "header \(header) must be required") }
        }
        if properties["ce_type"]?.objectValue?["const"]?.stringValue != contract.ceType {
            error(pointer + "/properties/ce_type/const", "must equal the schema's x-ce-type \(contract.ceType)")
        }
    }

    private mutating func checkKafkaBinding(_ bindings: JSONValue?, topic: String, at pointer: String) {
        guard let kafka = bindings?.objectValue?["kafka"]?.objectValue else {
            error(pointer + "/kafka", "Kafka binding missing")
            return
        }
        if let bindingTopic = kafka["topic"]?.stringValue, bindingTopic != topic {
            error(pointer + "/kafka/topic", "differs from the channel address")
        }
        if (kafka["partitions"]?.integerValue ?? 0) < 1 {
            error(pointer + "/kafka/partitions", "must be a positive integer")
        }
        let policy =
            kafka["topicConfiguration"]?.objectValue?["cleanup.policy"]?.arrayValue?.compactMap(\.stringValue) ?? []
        if policy.isEmpty || !policy.allSatisfy({ $0 == "compact" || $0 == "delete" }) {
            error(pointer + "/kafka/topicConfiguration/cleanup.policy", "must list compact and/or delete")
        }
        // The consent topic keeps the latest record per patient forever (ARCHITECTURE.md).
        if topic == ContractVocabulary.Topic.healthConsent, policy != ["compact"] {
            error(pointer + "/kafka/topicConfiguration/cleanup.policy", "health.consent must be [compact]")
        }
    }

    private mutating func error(_ pointer: String, _ message: String) {
        diagnostics.append(ContractDiagnostic(file: file, pointer: pointer, message: message))
    }
}
