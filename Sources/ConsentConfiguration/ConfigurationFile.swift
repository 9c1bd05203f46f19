/// Parser of the configuration file: one `key = value` per line, dotted keys.
///
/// Why this format and not JSON or full TOML: the keys are the same flat dotted names as in
/// the environment and on the command line, so one table documents all three; one line per
/// key lets errors point at a line without quoting it (it may hold a secret); comments are
/// allowed (JSON has none); and a strict parser this small needs no dependency. Quoted
/// values use TOML's basic-string escapes, so a file whose values are all quoted is valid TOML.
package enum ConfigurationFile {
    /// One `key = value` line.
    package struct Entry: Sendable, Hashable {
        /// Dotted key as written.
        package var key: String
        /// Value, unquoted.
        package var value: String
        /// 1-based line number.
        package var line: Int
    }

    /// Parses `contents`; collects every syntax and duplicate-key problem instead of stopping
    /// at the first. Unknown keys are reported by the caller, which knows the key table.
    package static func parse(_ contents: String) -> (entries: [Entry], issues: [ConfigurationError.Issue]) {
        var entries: [Entry] = []
        var issues: [ConfigurationError.Issue] = []
        var firstLine: [String: Int] = [:]
        var lineNumber = 0
        for rawLine in contents.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            let trimmed = line.trimmingSpaces()
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let equals = trimmed.firstIndex(of: "=") else {
                issues.append(
                    .init(.syntax, key: "line \(lineNumber)", "expected `key = value`", source: .file(line: lineNumber))
                )
                continue
            }
            let key = String(trimmed[..<equals].trimmingSpaces())
            guard isValidKeySpelling(key) else {
                issues.append(
                    .init(
                        .syntax, key: "line \(lineNumber)",
                        "a key is lower-case letters, digits, `.` and `-`", source: .file(line: lineNumber)))
                continue
            }
            let rawValue = trimmed[trimmed.index(after: equals)...].trimmingSpaces()
            guard let value = unquote(rawValue) else {
                issues.append(.init(.syntax, key: key, "malformed quoted value", source: .file(line: lineNumber)))
                continue
            }
            if let earlier = firstLine[key] {
                issues.append(
                    .init(
                        .duplicateKey, key: key, "set twice in the file (first on line \(earlier))",
                        source: .file(line: lineNumber)))
                continue
            }
            firstLine[key] = lineNumber
            entries.append(Entry(key: key, value: value, line: lineNumber))
        }
        return (entries, issues)
    }

    private static func isValidKeySpelling(_ key: String) -> Bool {
        !key.isEmpty
            && key.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "-"
            }
    }

    /// Bare values are taken as written (so a `#` inside a password is kept); a value that
    /// starts with `"` must be a complete basic string with `\"`, `\\`, `\t`, `\n` escapes.
    private static func unquote(_ raw: Substring) -> String? {
        guard raw.first == "\"" else { return String(raw) }
        guard raw.count >= 2, raw.last == "\"" else { return nil }
        var result = ""
        var iterator = raw.dropFirst().dropLast().makeIterator()
        while let character = iterator.next() {
            if character == "\"" { return nil }
            guard character == "\\" else {
                result.append(character)
                continue
            }
            switch iterator.next() {
            case "\"": result.append("\"")
            case "\\": result.append("\\")
            case "t": result.append("\t")
            case "n": result.append("\n")
            default: return nil
            }
        }
        return result
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs.
    fileprivate func trimmingSpaces() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
        return result
    }
}
