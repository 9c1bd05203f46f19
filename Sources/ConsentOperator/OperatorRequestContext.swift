package import Hummingbird

/// The request context of the operator service: the role the bearer token grants, once the
/// authentication middleware has checked it.
package struct OperatorRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    /// Set by `BearerAuthentication` for requests under `/api`.
    package var role: OperatorRole?

    package init(source: Source) {
        coreContext = .init(source: source)
        role = nil
    }
}
