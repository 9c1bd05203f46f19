import HTTPTypes
import Hummingbird
import NIOCore

/// The answer when no route takes a request's path and method, in the service's JSON error
/// form: 405 with `Allow` when the path is served for other methods, else 404 `unknown-path`.
///
/// Under `/api` the token is checked first, as on every API route: no token or an unknown one
/// → 401, so a caller without a token learns nothing about which paths exist.
///
/// Added to the router after every route, so it wraps only the router's not-found responder
/// (Hummingbird applies a router middleware to the routes added after it, and always to the
/// not-found responder); it never calls that responder, which answers a bare 404.
struct UnmatchedRequests: RouterMiddleware {
    typealias Context = OperatorRequestContext
    let authentication: BearerAuthentication
    /// Answers a GET for each served path with the path's `Allow` (and 404 for other paths), so
    /// a path is matched to its route exactly as the router matches it (literal segments before
    /// parameters: `/api/rejections/redrive` is the batch redrive, not a rejection's id).
    private let allowed: RouterResponder<Context>

    init(routes: [Router<Context>.RouteDescription], authentication: BearerAuthentication) {
        self.authentication = authentication
        var methods: [String: (path: RouterPath, methods: Set<HTTPRequest.Method>)] = [:]
        for route in routes { methods[route.path.description, default: (route.path, [])].methods.insert(route.method) }
        let probe = Router(context: Context.self)
        for (path, served) in methods.values {
            // The router answers HEAD wherever it answers GET (`autoGenerateHeadEndpoints`).
            let allow = (served.contains(.get) ? served.union([.head]) : served).map(\.rawValue).sorted()
                .joined(separator: ", ")
            probe.get(path) { _, _ in Response(status: .noContent, headers: [.allow: allow]) }
        }
        allowed = probe.buildResponder()
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let path = request.uri.path
        if path == "/api" || path.hasPrefix("/api/"), authentication.role(of: request) == nil {
            return BearerAuthentication.unauthorized()
        }
        let probe = Request(
            head: HTTPRequest(method: .get, scheme: nil, authority: nil, path: request.head.path),
            body: RequestBody(buffer: ByteBuffer()))
        if let allow = try await allowed.respond(to: probe, context: context).headers[.allow] {
            return OperatorResponse.problem(
                .methodNotAllowed, code: "method-not-allowed", "This path does not take that method.",
                headers: [.allow: allow])
        }
        return OperatorResponse.problem(.notFound, code: "unknown-path", "Nothing is served at this path.")
    }
}
