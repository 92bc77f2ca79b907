import CanopyStore
import NIOHTTP1

extension AdminAPI {
    /// `AdminServer`'s check of a request's head, before its body is read: an unauthenticated
    /// request that comes with a body is answered at once (401), the body unread. Only what needs no
    /// admin token may send one: the login form, the post-receive hook with its token, and webhooks
    /// whose token matches (a signed one is checked when its body is in).
    func headRefusal(_ request: AdminRequest) async -> AdminResponse? {
        if request.segments.first == "hooks" { return await webhookHeadRefusal(request) }
        if request.method == .POST && request.segments == ["login"] {
            return Self.declaredLength(request) > 4096 ? AdminServer.tooLarge(4096, unit: "KiB") : nil
        }
        if request.method == .POST && request.segments == ["api", "v1", "hooks", "local"], let hookToken,
            let given = bearerToken(request), constantTimeEqual(given, hookToken)
        {
            return nil
        }
        if authorized(request) { return nil }
        let hasBody = Self.declaredLength(request) > 0 || request.headers.contains(name: "Transfer-Encoding")
        return hasBody ? unauthorizedResponse(request) : nil
    }

    /// What `Content-Length` says (0 when absent or unreadable).
    static func declaredLength(_ request: AdminRequest) -> Int {
        request.headers.first(name: "Content-Length").flatMap { Int($0) } ?? 0
    }

    /// The answer to a request without the admin token: the dashboard's login page for its pages,
    /// 401 with a hint for the API.
    func unauthorizedResponse(_ request: AdminRequest) -> AdminResponse {
        if request.method == .GET && (request.segments.isEmpty || request.segments.first == "builds") {
            return .text(Dashboard.login(message: nil), status: .unauthorized, contentType: "text/html; charset=utf-8")
        }
        var response = AdminResponse.error(
            .unauthorized,
            "missing or wrong admin token: send 'Authorization: Bearer <token>' (the token is in admin.token in the data folder)"
        )
        response.headers.add(name: "WWW-Authenticate", value: "Bearer realm=\"canopy\"")
        return response
    }
}
