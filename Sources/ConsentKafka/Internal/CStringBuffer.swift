extension String {
    /// The NUL-terminated text librdkafka wrote into an error buffer.
    init(errorBuffer: [CChar]) {
        self.init(decoding: errorBuffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
