import CanopyStore
import NIOHTTP1

/// What protects the dashboard in a browser: the session cookie (see `DashboardSessions`), a
/// Content-Security-Policy that runs only the dashboard's own script (by its hash) and forbids
/// framing, and an Origin check on state-changing requests that a cookie authorises (CSRF): the
/// browser says where a request comes from (`Origin`, or `Sec-Fetch-Site`), and only this listener
/// itself may ask for a change. The CLI's `Authorization: Bearer` requests carry no ambient
/// credential and need no such check. As the OWASP CSRF cheat sheet's "verifying origin with
/// standard headers" and Fetch Metadata sections describe.
extension AdminAPI {
    /// The session id the request's `canopy-session` cookie carries, if any.
    func sessionID(_ request: AdminRequest) -> String? {
        for header in request.headers[canonicalForm: "Cookie"] {
            for cookie in header.split(separator: ";") {
                let kv = cookie.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if kv.count == 2, kv[0] == DashboardSessions.cookieName { return String(kv[1]) }
            }
        }
        return nil
    }

    /// Behind a TLS-terminating proxy that says so, the cookie is `Secure`.
    static func isHTTPS(_ request: AdminRequest) -> Bool {
        request.headers.first(name: "X-Forwarded-Proto")?.lowercased() == "https"
    }

    /// 403 for a request that changes something, authorised by the browser's cookie, sent from
    /// another origin (or one that does not say where it comes from while the browser says it is
    /// cross-site). nil lets it through.
    func crossOriginRefusal(_ request: AdminRequest) -> AdminResponse? {
        guard ![.GET, .HEAD, .OPTIONS].contains(request.method), bearerToken(request) == nil else { return nil }
        let host = request.headers.first(name: "Host")?.lowercased() ?? ""
        if let origin = request.headers.first(name: "Origin")?.lowercased() {
            let bare = origin.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first
            if origin != "null", let bare, bare == host, origin.hasPrefix("http://") || origin.hasPrefix("https://") {
                return nil
            }
            return .error(
                .forbidden, "cross-origin request refused: Origin \(origin) is not this admin listener (\(host))")
        }
        let site = request.headers.first(name: "Sec-Fetch-Site")?.lowercased()
        if site == nil || site == "same-origin" || site == "none" { return nil }
        return .error(.forbidden, "cross-site request refused (Sec-Fetch-Site: \(site!))")
    }

    /// `POST /logout`: ends the session and clears the cookie.
    func logout(_ request: AdminRequest) -> AdminResponse {
        if let id = sessionID(request) { sessions.close(id) }
        var response = AdminResponse(status: .seeOther, headers: ["Location": "/"], body: .bytes(.init()))
        response.headers.add(name: "Set-Cookie", value: sessions.cookie(nil, secure: Self.isHTTPS(request)))
        return response
    }

    /// The dashboard's policy: nothing loads but its own inline script (by hash) and styles, it
    /// connects and posts only here, and no page may frame it.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src '\(Dashboard.scriptHash)'; style-src 'unsafe-inline'; img-src 'self' data:; "
        + "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    /// Adds the browser-facing protections to every answer.
    static func withSecurityHeaders(_ response: AdminResponse) -> AdminResponse {
        var response = response
        response.headers.replaceOrAdd(name: "Content-Security-Policy", value: contentSecurityPolicy)
        response.headers.replaceOrAdd(name: "X-Frame-Options", value: "DENY")
        response.headers.replaceOrAdd(name: "X-Content-Type-Options", value: "nosniff")
        response.headers.replaceOrAdd(name: "Referrer-Policy", value: "same-origin")
        return response
    }
}
