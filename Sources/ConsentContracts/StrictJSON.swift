/// The strict JSON parser every event body passes before anything else looks at it.
///
/// Byte-level and allocation-light: it rejects what a lenient parser would let through and
/// what could make two systems read one body differently: duplicate keys (compared after
/// `\u` decoding), invalid UTF-8, lone surrogates, nesting and size beyond the limits,
/// trailing data, numbers that fit neither `Int64` nor a finite `Double`. Each refusal has its
/// own `JSONParseError.Code`.
package enum StrictJSON {
    /// Parses exactly one JSON value from `bytes` (RFC 8259, UTF-8, no BOM).
    package static func parse(
        _ bytes: some Collection<UInt8>, limits: JSONParseLimits = .default
    ) throws(JSONParseError) -> JSONValue {
        if bytes.count > limits.maxBytes {
            throw JSONParseError(code: .tooLarge, byteOffset: limits.maxBytes)
        }
        let result: Result<JSONValue, JSONParseError>? = bytes.withContiguousStorageIfAvailable { buffer in
            parseBuffer(buffer, limits: limits)
        }
        if let result { return try result.get() }
        let copy = Array(bytes)
        return try copy.withUnsafeBufferPointer { parseBuffer($0, limits: limits) }.get()
    }

    /// Parses a string's UTF-8 bytes (convenience for tests and tools).
    package static func parse(_ text: String, limits: JSONParseLimits = .default) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8), limits: limits)
    }

    private static func parseBuffer(
        _ buffer: UnsafeBufferPointer<UInt8>, limits: JSONParseLimits
    ) -> Result<JSONValue, JSONParseError> {
        var parser = StrictJSONParser(bytes: buffer, maxDepth: limits.maxDepth)
        do throws(JSONParseError) {
            return .success(try parser.parseDocument())
        } catch {
            return .failure(error)
        }
    }
}
