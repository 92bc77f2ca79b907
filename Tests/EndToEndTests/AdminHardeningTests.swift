import Crypto
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue #15 on a real `canopy serve`: the admin listener checks the token on a request's head, a
/// signed GitHub or GitLab webhook deploys, and the dashboard signs in with a session of its own
/// (not the token in a cookie), signs out, sends a Content-Security-Policy and refuses
/// cross-origin changes.
@Suite(.serialized)
struct AdminHardeningTests {
    static let sites = """
        repository: ../repos/site.git
        webhookToken: It's a Secret to Everybody
        branches:
          main: { domains: [site.test] }
        """

    /// Sends a request head and nothing more; returns what the server answered before hanging up
    /// (empty when it waited for the body past the client's 30-second receive timeout).
    static func headOnly(port: Int, _ head: String) throws -> String {
        let fd = try connectLoopback(port: port)
        defer { close(fd) }
        _ = head.utf8CString.withUnsafeBytes { send(fd, $0.baseAddress, $0.count - 1, 0) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: data, as: UTF8.self)
    }

    @Test func anUnauthenticatedUploadIsAnsweredOnItsHead() async throws {
        let canopy = try CanopyInstance("adminhead")
        try await canopy.start()
        let reply = try Self.headOnly(
            port: canopy.adminPort,
            "POST /api/v1/rollback HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4194304\r\n\r\n")
        #expect(reply.hasPrefix("HTTP/1.1 401"), "\(reply)")
        #expect(reply.contains("Connection: close"))
        // A webhook for a site that does not exist, or with a wrong token, is not read either.
        let hook = try Self.headOnly(
            port: canopy.adminPort,
            "POST /hooks/nosuchsite?token=x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4194304\r\n\r\n")
        #expect(hook.hasPrefix("HTTP/1.1 401"), "\(hook)")
    }

    /// GitHub signs the body with the webhook secret: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256>`
    /// (https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries, whose example
    /// secret this site uses); GitLab sends the secret itself in `X-Gitlab-Token`
    /// (https://docs.gitlab.com/user/project/integrations/webhooks/#create-a-webhook). A wrong
    /// signature and an unknown site are answered alike.
    @Test func aSignedGitHubWebhookDeploysAndABadSignatureOrUnknownSiteIsRefusedAlike() async throws {
        let canopy = try CanopyInstance("signedhook")
        let repo = try SiteRepository(in: canopy)
        try canopy.writeSite("site", Self.sites)
        try await canopy.start(extraArguments: ["--poll", "600"])
        try repo.commit("Initial site")
        try repo.push("main")

        let payload = Data(#"{"ref":"refs/heads/main","repository":{"full_name":"team/site"}}"#.utf8)
        func deliver(_ site: String, _ headers: [String: String]) throws -> HTTPResult {
            try TestHTTP.request(
                "POST", port: canopy.adminPort, path: "/hooks/\(site)", host: "127.0.0.1",
                headers: headers.merging(["X-GitHub-Event": "push", "Content-Type": "application/json"]) { a, _ in a },
                body: payload)
        }
        let key = SymmetricKey(data: Data("It's a Secret to Everybody".utf8))
        let good = HMAC<SHA256>.authenticationCode(for: payload, using: key).map { String(format: "%02x", $0) }
            .joined()
        let forged = HMAC<SHA256>.authenticationCode(for: payload, using: SymmetricKey(data: Data("guess".utf8)))
            .map { String(format: "%02x", $0) }.joined()

        let bad = try deliver("site", ["X-Hub-Signature-256": "sha256=" + forged])
        let unknown = try deliver("other", ["X-Hub-Signature-256": "sha256=" + good])
        let unsigned = try deliver("site", [:])
        for refused in [bad, unknown, unsigned] { #expect(refused.status == 401, "\(refused.status) \(refused.text)") }
        #expect(bad.text == unknown.text.replacingOccurrences(of: "no site other", with: "no site site"))
        #expect(!canopy.serverLog.contains("push notification from webhook:site"))

        let signed = try deliver("site", ["X-Hub-Signature-256": "sha256=" + good])
        #expect(signed.status == 202, "\(signed.text)")
        #expect(canopy.serverLog.contains("push notification from webhook:site"))
        try await canopy.waitForContent("site.test", "Hello from branch")
        let gitlab = try deliver(
            "site", ["X-Gitlab-Token": "It's a Secret to Everybody", "X-Gitlab-Event": "Push Hook"])
        #expect(gitlab.status == 202, "\(gitlab.text)")
    }

    @Test func theDashboardHasASessionLogoutACSPAndRefusesCrossOriginChanges() async throws {
        let canopy = try CanopyInstance("dashsession")
        try await canopy.start()
        let host = "127.0.0.1:\(canopy.adminPort)"
        func call(
            _ method: String, _ path: String, cookie: String? = nil, origin: String? = nil, form: String? = nil,
            extra: [String: String] = [:]
        ) throws -> HTTPResult {
            var headers = extra
            if let cookie { headers["Cookie"] = cookie }
            if let origin { headers["Origin"] = origin }
            if form != nil { headers["Content-Type"] = "application/x-www-form-urlencoded" }
            return try TestHTTP.request(
                method, port: canopy.adminPort, path: path, host: host, headers: headers,
                body: form.map { Data($0.utf8) })
        }
        let token = canopy.adminToken
        let encoded = token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? token

        // Signing in sets a session cookie, not the token.
        let signIn = try call("POST", "/login", origin: "http://\(host)", form: "token=\(encoded)")
        #expect(signIn.status == 303)
        let setCookie = try #require(signIn.header("Set-Cookie"))
        #expect(setCookie.hasPrefix("canopy-session="))
        #expect(!setCookie.contains(token))
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] { #expect(setCookie.contains(attribute)) }
        #expect(!setCookie.contains("Secure"))
        let session = String(setCookie.split(separator: ";")[0])
        let page = try call("GET", "/", cookie: session)
        #expect(page.status == 200)
        #expect(page.text.contains("action=\"/logout\""))
        // The token in a cookie, as the dashboard used to set it, is no longer a credential.
        #expect(try call("GET", "/", cookie: "canopy-token=\(token)").status == 401)
        // Behind a TLS proxy the cookie is Secure.
        let proxied = try call(
            "POST", "/login", origin: "https://\(host)", form: "token=\(encoded)", extra: ["X-Forwarded-Proto": "https"]
        )
        #expect(proxied.header("Set-Cookie")?.contains("; Secure") == true)

        // Only the dashboard's own script may run, and no page may frame it.
        let csp = try #require(page.header("Content-Security-Policy"))
        // The page's one script is the one the policy names, so a browser runs it.
        let script = try #require(page.text.firstMatch(of: /<script>(.*?)<\/script>/.dotMatchesNewlines())?.1)
        let hash = Data(SHA256.hash(data: Data(script.utf8))).base64EncodedString()
        #expect(csp.contains("script-src 'sha256-\(hash)'"), "\(csp)")
        #expect(!csp.contains("script-src 'unsafe-inline'"))
        #expect(csp.contains("frame-ancestors 'none'"))
        #expect(page.header("X-Frame-Options") == "DENY")

        // A form posted from another site with the visitor's cookie is refused; from here it goes through.
        let forged = try call(
            "POST", "/ui/build", cookie: session, origin: "http://evil.example", form: "site=a&branch=b")
        #expect(forged.status == 403, "\(forged.text)")
        let fetchForged = try call(
            "POST", "/ui/build", cookie: session, form: "site=a&branch=b", extra: ["Sec-Fetch-Site": "cross-site"])
        #expect(fetchForged.status == 403)
        let mine = try call("POST", "/ui/build", cookie: session, origin: "http://\(host)", form: "site=a&branch=b")
        #expect(mine.status != 403 && mine.status != 401, "\(mine.status) \(mine.text)")
        // The CLI's bearer token needs no Origin.
        #expect(try canopy.admin("GET", "/api/v1/status").status == 200)

        // Signing out ends the session: the old cookie no longer opens the dashboard.
        let out = try call("POST", "/logout", cookie: session, origin: "http://\(host)")
        #expect(out.status == 303)
        #expect(out.header("Set-Cookie")?.contains("Max-Age=0") == true)
        #expect(try call("GET", "/", cookie: session).status == 401)
    }
}
