package import ConsentContracts

/// One event as the policy receives it: headers and the raw body bytes, untouched.
package struct PolicyEvent: Sendable {
    /// CloudEvents headers.
    package var headers: CloudEventHeaders
    /// The body exactly as consumed (the strict parser sees these bytes first).
    package var body: [UInt8]
    /// The topic the event was consumed from, when known; checked against the contract.
    package var sourceTopic: String?

    /// An event.
    package init(headers: CloudEventHeaders, body: [UInt8], sourceTopic: String? = nil) {
        self.headers = headers
        self.body = body
        self.sourceTopic = sourceTopic
    }
}

extension PolicyEvent: CustomStringConvertible {
    /// Type, id and size only: the body may hold personal data.
    package var description: String {
        "event \(headers.type ?? "<no type>") \(headers.id ?? "<no id>") (\(body.count) bytes)"
    }
}
