package import ConsentConfiguration

/// What a bearer token may do on the operator service.
package enum OperatorRole: String, Sendable, Comparable, CaseIterable {
    /// Reads rejections, counts and the page.
    case viewer
    /// Reads, and redrives rejections.
    case `operator`

    package static func < (lhs: OperatorRole, rhs: OperatorRole) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// Finds the role of a presented bearer token.
///
/// Every configured token is compared in full whatever matches (no early exit), so the time a
/// check takes does not tell how much of a guess was right.
package struct OperatorTokens: Sendable {
    private let tokens: [(bytes: [UInt8], role: OperatorRole)]

    /// Tokens from the configuration.
    package init(_ access: OperatorAccess) {
        tokens =
            access.viewerTokens.map { (Array($0.utf8), .viewer) }
            + access.operatorTokens.map { (Array($0.utf8), .operator) }
    }

    /// Whether any token is configured (without one the API is closed to everyone).
    package var isEmpty: Bool { tokens.isEmpty }

    /// The role of `presented`, or nil if it is no configured token.
    package func role(of presented: some StringProtocol) -> OperatorRole? {
        let candidate = Array(presented.utf8)
        var found: OperatorRole? = nil
        for token in tokens {
            var difference = UInt8(token.bytes.count == candidate.count ? 0 : 1)
            for index in 0..<token.bytes.count {
                difference |= token.bytes[index] ^ (index < candidate.count ? candidate[index] : 0)
            }
            if difference == 0 { found = max(found ?? token.role, token.role) }
        }
        return found
    }
}

/// Tokens are secrets: every way Swift prints a value (a service's description in a debug log
/// line, `dump`, string interpolation of a struct holding them) shows their count only.
extension OperatorTokens: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    package var description: String { "OperatorTokens(\(tokens.count) configured)" }
    package var debugDescription: String { description }
    package var customMirror: Mirror { Mirror(self, children: ["configured": tokens.count]) }
}
