extension String {
    /// `bytes` as text, or nil when they are not valid UTF-8. ASCII (most ids, names and times
    /// the bridge reads) needs no validating and is decoded directly; anything else goes
    /// through the validating initializer.
    ///
    /// Inlinable so each caller gets it specialized for its byte collection: unspecialized,
    /// the validating initializer looked up generic metadata at run time on every call (the
    /// pipeline reads every envelope header, and the consent view every entry, through it).
    @inlinable
    package init?(validatingUTF8Bytes bytes: some Collection<UInt8>) {
        if bytes.allSatisfy({ $0 < 0x80 }) {
            self.init(decoding: bytes, as: UTF8.self)
        } else if let text = String(validating: bytes, as: UTF8.self) {
            self = text
        } else {
            return nil
        }
    }
}
