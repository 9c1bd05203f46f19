import HTTPTypes
import Hummingbird

/// Requires `Authorization: Bearer <token>` with a configured token: none or an unknown one
/// → 401 (with `WWW-Authenticate`), so a caller cannot tell a wrong token from a missing
/// one. The token is never logged or echoed.
struct BearerAuthentication: RouterMiddleware {
    typealias Context = OperatorRequestContext
    let tokens: OperatorTokens

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            let role = tokens.role(of: header.dropFirst("Bearer ".count))
        else {
            return OperatorResponse.problem(
                .unauthorized, code: "unauthorized", "A bearer token of a viewer or an operator is required.",
                headers: [.wwwAuthenticate: "Bearer realm=\"consent-bridge\""])
        }
        var context = context
        context.role = role
        return try await next(request, context)
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
