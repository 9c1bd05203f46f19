import HTTPTypes
import Hummingbird

/// Requires `Authorization: Bearer <token>` with a configured token: none or an unknown one
/// → 401 (with `WWW-Authenticate`), so a caller cannot tell a wrong token from a missing
/// one. The token is never logged or echoed.
///
/// The scheme's name is compared without regard to case (`Bearer`, `bearer`, `BEARER`: RFC 9110
/// §11.1); the token itself exactly, in constant time (`OperatorTokens`).
struct BearerAuthentication: RouterMiddleware {
    typealias Context = OperatorRequestContext
    let tokens: OperatorTokens

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let role = role(of: request) else { return Self.unauthorized() }
        var context = context
        context.role = role
        return try await next(request, context)
    }

    /// The role the request's bearer token grants, or nil (no `Authorization`, another scheme,
    /// or a token that is not configured).
    func role(of request: Request) -> OperatorRole? {
        guard let token = request.headers[.authorization].flatMap(Self.bearerToken) else { return nil }
        return tokens.role(of: token)
    }

    /// The token of `Bearer <token>`, the scheme in any case, one or more spaces after it.
    static func bearerToken(_ header: String) -> String? {
        let bytes = Array(header.utf8)
        let scheme = Array("bearer".utf8)
        let space = UInt8(ascii: " ")
        guard bytes.count > scheme.count, zip(bytes, scheme).allSatisfy({ ($0 | 0x20) == $1 }),
            bytes[scheme.count] == space
        else { return nil }
        let token = bytes[scheme.count...].drop { $0 == space }
        return token.isEmpty ? nil : String(decoding: token, as: UTF8.self)
    }

    /// The refusal for no token or an unknown one (the same answer for both).
    static func unauthorized() -> Response {
        OperatorResponse.problem(
            .unauthorized, code: "unauthorized", "A bearer token of a viewer or an operator is required.",
            headers: [.wwwAuthenticate: "Bearer realm=\"consent-bridge\""])
    }
}

extension OperatorRequestContext {
    /// Throws 403 unless the caller's role is at least `role`.
    func require(_ role: OperatorRole) throws {
        guard let granted = self.role, granted >= role else {
            throw OperatorProblem(.forbidden, code: "forbidden", "This needs the \(role.rawValue) role.")
        }
    }
}
