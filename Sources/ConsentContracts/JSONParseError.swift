/// Why the strict parser refused a body.
///
/// The description names only the reason code and the byte offset: the body may hold personal
/// data (a fødselsnummer in a string), so no part of the input is ever echoed.
package struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, machine-readable reason code (also used as the rejection reason).
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The code as text, e.g. `json.duplicate-key`.
        package let rawValue: String

        private init(_ rawValue: String) { self.rawValue = rawValue }

        package var description: String { rawValue }

        /// No bytes at all (or only whitespace).
        package static let empty = Code("json.empty")
        /// Generic grammar error: unexpected byte, missing comma or colon, bad literal or escape.
        package static let syntax = Code("json.syntax")
        /// An object holds the same key twice (compared after escape decoding).
        package static let duplicateKey = Code("json.duplicate-key")
        /// Bytes that are not well-formed UTF-8 (overlong, truncated, surrogate code points…).
        package static let invalidUTF8 = Code("json.invalid-utf8")
        /// A `\u` escape names a surrogate that is not part of a valid pair.
        package static let loneSurrogate = Code("json.lone-surrogate")
        /// Arrays/objects nested deeper than `JSONParseLimits.maxDepth`.
        package static let tooDeep = Code("json.too-deep")
        /// Body longer than `JSONParseLimits.maxBytes`.
        package static let tooLarge = Code("json.too-large")
        /// Non-whitespace bytes after the top-level value.
        package static let trailingData = Code("json.trailing-data")
        /// A number that fits neither `Int64` nor a finite `Double`.
        package static let numberOutOfRange = Code("json.number-out-of-range")
        /// An unescaped control character (U+0000…U+001F) inside a string.
        package static let controlCharacter = Code("json.control-character")

        /// Every code (a new one must be added here too: the operator API accepts only these
        /// as `invalid-json.*` reasons to filter on).
        package static let all: [Code] = [
            empty, syntax, duplicateKey, invalidUTF8, loneSurrogate, tooDeep, tooLarge, trailingData, numberOutOfRange,
            controlCharacter,
        ]
    }

    /// The reason.
    package var code: Code
    /// Offset of the offending byte from the start of the body.
    package var byteOffset: Int

    /// An error at `byteOffset`.
    package init(code: Code, byteOffset: Int) {
        self.code = code
        self.byteOffset = byteOffset
    }

    package var description: String { "\(code.rawValue) at byte \(byteOffset)" }
}
