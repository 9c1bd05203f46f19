import ConsentConfiguration
import ConsentOperator
import Testing

@Suite("Operator tokens")
struct OperatorTokensTests {
    let tokens = OperatorTokens(
        OperatorAccess(viewerTokens: ["viewer-token-0123456789"], operatorTokens: ["operator-token-0123456789"]))

    @Test("A configured token grants its role; anything else (prefix, longer, empty, other case) grants none")
    func tokensGrantTheirRoleOnly() {
        #expect(tokens.role(of: "viewer-token-0123456789") == .viewer)
        #expect(tokens.role(of: "operator-token-0123456789") == .operator)
        for wrong in [
            "", "viewer-token-012345678", "viewer-token-01234567890", "VIEWER-TOKEN-0123456789",
            "operator-token-0123456788",
        ] {
            #expect(tokens.role(of: wrong) == nil, "\(wrong)")
        }
    }

    @Test("Without tokens nobody gets in")
    func noTokensNoAccess() {
        let none = OperatorTokens(OperatorAccess())
        #expect(none.isEmpty)
        #expect(none.role(of: "anything-at-all-0123456789") == nil)
    }

    @Test("An operator may do what a viewer may")
    func rolesAreOrdered() {
        #expect(OperatorRole.viewer < OperatorRole.operator)
    }

    @Test("tokens never appear in any printed form: a service holding them, logged at debug level, shows a count")
    func tokensAreNeverPrinted() {
        struct Holder { let tokens: OperatorTokens }
        let tokens = OperatorTokens(
            OperatorAccess(viewerTokens: ["viewer-token-aaaaaaaaaaaa"], operatorTokens: ["operator-token-bbbbbbbbbbbb"])
        )
        var dumped = ""
        dump(Holder(tokens: tokens), to: &dumped)
        for printed in [
            String(describing: tokens), String(reflecting: tokens), "\(Holder(tokens: tokens))",
            String(reflecting: Holder(tokens: tokens)), dumped,
        ] {
            #expect(!printed.contains("aaaaaaaaaaaa") && !printed.contains("bbbbbbbbbbbb"), "\(printed)")
            // Nor as the bytes they are kept as (118 = "v", the first byte of the first token).
            #expect(!printed.contains("118, 105, 101"), "\(printed)")
        }
        #expect(String(describing: tokens) == "OperatorTokens(2 configured)")
    }
}
