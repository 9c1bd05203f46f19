/// One Kafka record header (CloudEvents binary mode puts `ce_id`, `ce_type`, … here).
package struct MessageHeader: Sendable, Hashable, Codable {
    /// Header name.
    package var name: String
    /// Header value; nil for a header without value.
    package var value: [UInt8]?

    /// Creates a header.
    package init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }

    /// Creates a header with a UTF-8 text value.
    package init(name: String, text: String) {
        self.name = name
        self.value = Array(text.utf8)
    }
}
