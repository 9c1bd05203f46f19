/// One quasi-identifier the anonymous form generalized (path and rule, never the value).
package struct FieldGeneralization: Sendable, Hashable, CustomStringConvertible {
    /// JSON pointer pattern in the contract.
    package var path: String
    /// The rule applied.
    package var rule: Generalization

    /// A generalization record.
    package init(path: String, rule: Generalization) {
        self.path = path
        self.rule = rule
    }

    package var description: String { "\(path): \(rule.rawValue)" }
}
