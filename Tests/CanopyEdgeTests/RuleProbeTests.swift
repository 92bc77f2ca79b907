import CanopyEdge
import CanopySpec
import Foundation
import Testing

/// `RuleProbe` answers a request in process exactly as the edge answers it over HTTP: what
/// `canopy-rules-test.yml` checks before a deployment goes live.
@Suite struct RuleProbeTests {
    /// `_redirects`: the example of docs.netlify.com/manage/routing/redirects/overview ("Redirects
    /// from what the browser requests to what we serve"), a rewrite, the proxy example of
    /// …/redirects/rewrites-proxies (`/api/* https://api.example.com/:splat 200`), and the forced
    /// `404!` of …/redirects/redirect-options. `_headers`: the example of
    /// docs.netlify.com/manage/routing/headers (`/secure/page` with X-Frame-Options and X-XSS-Protection).
    static let files: [String: String] = [
        "index.html": "<div id=\"root\"></div>",
        "blog/index.html": "the blog",
        "blog/my-post.html": "my post",
        "secure/page.html": "secret",
        "404.html": "custom missing page",
        "_redirects": """
        # Redirects from what the browser requests to what we serve
        /home              /
        /blog/my-post.php  /blog/my-post
        /news              /blog
        /cuties            https://www.petsofnetlify.com
        /app/*             /index.html   200
        /api/*             https://api.example.com/:splat  200
        /secure/page       /404.html     404!
        """,
        "_headers": """
        /secure/page
          X-Frame-Options: DENY
          X-XSS-Protection: 1; mode=block
        """,
    ]

    @Test func answersAsTheEdgeDoesOverHTTP() async throws {
        let fixture = try EdgeFixture()
        let deployment = try fixture.deploy("d1", Self.files)
        try await fixture.start([
            HostRoute(
                hostname: "site.test", site: "site", environment: "main",
                targets: [RouteTarget(label: "main", weight: 1, deployment: deployment)])
        ])
        do {
            let probe = RuleProbe(deployment)
            let client = try fixture.client()
            for path in ["/home", "/blog/my-post.php", "/news", "/cuties", "/app/settings", "/secure/page", "/nowhere"]
            {
                let local = probe.answer(RuleProbeRequest(target: path, host: "site.test"))
                let remote = try client.request("GET", path)
                #expect(local.status == remote.status, "\(path)")
                #expect(local.header("Location") == remote.header("Location"), "\(path)")
                #expect(local.header("X-Frame-Options") == remote.header("X-Frame-Options"), "\(path)")
                #expect(local.body == remote.body, "\(path)")
            }
        } catch {
            try await fixture.server.shutdown()
            throw error
        }
        try await fixture.server.shutdown()
    }

    @Test func redirectsHeadersAndA404() throws {
        let fixture = try EdgeFixture()
        let probe = RuleProbe(try fixture.deploy("d1", Self.files))
        func ask(_ path: String, method: String = "GET") -> RuleProbeResponse {
            probe.answer(RuleProbeRequest(method: method, target: path, host: "site.test"))
        }
        // Netlify's default status is 301.
        #expect(ask("/home").status == 301 && ask("/home").header("Location") == "/")
        #expect(ask("/blog/my-post.php").header("Location") == "/blog/my-post")
        #expect(ask("/news").header("location") == "/blog")
        #expect(ask("/cuties").header("Location") == "https://www.petsofnetlify.com")
        #expect(ask("/cuties").proxy == nil)  // a redirect to a URL is not a proxy
        let app = ask("/app/settings")
        #expect(app.status == 200 && String(decoding: app.body, as: UTF8.self) == "<div id=\"root\"></div>")
        // The forced 404! shadows secure/page.html; the _headers block still applies to the path.
        let secure = ask("/secure/page")
        #expect(secure.status == 404)
        #expect(secure.header("X-Frame-Options") == "DENY" && secure.header("X-XSS-Protection") == "1; mode=block")
        let missing = ask("/nowhere")
        #expect(missing.status == 404 && String(decoding: missing.body, as: UTF8.self) == "custom missing page")
        #expect(missing.header("X-Frame-Options") == nil)
        let head = ask("/blog/my-post", method: "HEAD")
        #expect(head.status == 200 && head.body.isEmpty)
    }

    @Test func aProxyRuleIsReportedNotFetched() throws {
        let fixture = try EdgeFixture()
        let probe = RuleProbe(try fixture.deploy("d1", Self.files))
        let api = probe.answer(RuleProbeRequest(target: "/api/users/1?x=2", host: "site.test"))
        // The URL the edge would fetch, the query forwarded as the proxy forwards it (Netlify does).
        #expect(api.proxy == "https://api.example.com/users/1?x=2")
        #expect(probe.answer(RuleProbeRequest(target: "/app/x", host: "site.test")).proxy == nil)
    }

    @Test func requestHeadersReachTheRules() throws {
        let fixture = try EdgeFixture()
        // docs.netlify.com/manage/routing/redirects/redirect-options, "Redirect by country or language".
        var files = Self.files
        files["_redirects"] = "/welcome  /fr/welcome  302  Language=fr\n"
        files["fr/welcome.html"] = "bonjour"
        let probe = RuleProbe(try fixture.deploy("d1", files))
        let french = probe.answer(
            RuleProbeRequest(
                target: "/welcome", host: "site.test", headers: [HeaderField(name: "Accept-Language", value: "fr")]))
        #expect(french.status == 302 && french.header("Location") == "/fr/welcome")
        #expect(probe.answer(RuleProbeRequest(target: "/welcome", host: "site.test")).status == 404)
    }
}
