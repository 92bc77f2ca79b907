import CanopyEdge
import CanopySpec
import CanopyStore
import Foundation
import Logging
import Testing

/// A real store, real deployments and a real edge listening on loopback.
final class EdgeFixture {
    let root: String
    let store: DeploymentStore
    let server: EdgeServer
    var port = 0

    /// `geoIP`: the edge's GeoIP database (`--geoip`); deployments are then loaded as such an edge
    /// loads them, Country conditions accepted.
    init(
        idleTimeout: Duration = .seconds(75), headTimeout: Duration = .seconds(30), geoIP: GeoIPDatabase? = nil,
        configure: (inout EdgeConfiguration) -> Void = { _ in }
    ) throws {
        root = NSTemporaryDirectory() + "canopy-edge-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root + "/store", withIntermediateDirectories: true)
        store = try DeploymentStore(root: root + "/store")
        var configuration = EdgeConfiguration(
            host: "127.0.0.1", port: 0, eventLoopThreads: 2, storeRoot: root + "/store")
        configuration.idleTimeout = idleTimeout
        configuration.headTimeout = headTimeout
        configure(&configuration)
        server = EdgeServer(configuration: configuration, geoIP: geoIP, logger: Logger(label: "edge-test"))
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// Writes `files` to a folder, ingests it as `id` and loads it for serving.
    /// `capabilities`: what the deployment is read with (the edge's own by default).
    func deploy(
        _ id: String, _ files: [String: String], rules: SiteRules = SiteRules(), capabilities: RuleCapabilities? = nil
    ) throws -> ServedDeployment {
        let dir = root + "/src-" + id
        for (path, content) in files {
            let full = dir + "/" + path
            try FileManager.default.createDirectory(
                atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try content.write(toFile: full, atomically: true, encoding: .utf8)
        }
        let manifest = try store.ingest(
            directory: dir, id: id, site: "site", branch: "main", commit: String(repeating: "a", count: 40),
            commitTime: Date(timeIntervalSince1970: 1_700_000_000))
        return try ServedDeployment.load(
            manifest: manifest, storeRoot: root + "/store", siteRules: rules, cache: server.bodyCache,
            capabilities: capabilities ?? server.ruleCapabilities)
    }

    func start(_ routes: [HostRoute]) async throws {
        port = try await server.start()
        server.update(RoutingTable(routes: routes))
    }

    /// `source`: the loopback address to connect from (127.0.0.2, …), which the edge sees as the peer.
    func client(from source: String? = nil) throws -> RawHTTPClient { try RawHTTPClient(port: port, source: source) }
}

let bigText = String(repeating: "0123456789abcdef", count: 64)  // 1024 bytes, compressible

let siteFiles: [String: String] = [
    "index.html": "<h1>home</h1>",
    "about.html": "<h1>about</h1>",
    "docs/index.html": "<h1>docs</h1>",
    "404.html": "<h1>custom missing</h1>",
    "app.3f2a9c1b.js": "console.log(1)",
    "logo.png": "PNGDATA",
    "big.txt": bigText,
    "_redirects": "/old /about 301\n/blog/* /posts/:splat 302\n/users/:id /u/:id.html 301\n/about /index.html 200!\n",
    "customHttp.yml": """
    customHeaders:
      - pattern: '**'
        headers:
          - key: X-Scope
            value: all
      - pattern: '/docs/**'
        headers:
          - key: X-Scope
            value: docs
    """,
]

func withSite(
    password: BasicCredential? = nil, noindex: Bool = false, rules: SiteRules = SiteRules(),
    _ body: (EdgeFixture) async throws -> Void
) async throws {
    let fixture = try EdgeFixture()
    let deployment = try fixture.deploy("d1", siteFiles, rules: rules)
    try await fixture.start([
        HostRoute(
            hostname: "site.test", site: "site", environment: "main",
            targets: [RouteTarget(label: "main", weight: 1, deployment: deployment)], password: password,
            noindex: noindex)
    ])
    do {
        try await body(fixture)
    } catch {
        try await fixture.server.shutdown()
        throw error
    }
    try await fixture.server.shutdown()
}

@Suite struct EdgeHTTPTests {
    @Test func servesFilesAndTrailingSlashRules() async throws {
        try await withSite { f in
            let c = try f.client()
            let home = try c.request("GET", "/")
            #expect(home.status == 200)
            #expect(home.text == "<h1>home</h1>")
            #expect(home.header("cache-control")?.contains("no-cache") == true)
            #expect(try c.request("GET", "/docs/").text == "<h1>docs</h1>")
            let redirect = try c.request("GET", "/docs?x=1")
            #expect(redirect.status == 301)
            #expect(redirect.header("location") == "/docs/?x=1")
            let js = try c.request("GET", "/app.3f2a9c1b.js")
            #expect(js.header("cache-control")?.contains("immutable") == true)
            let png = try c.request("GET", "/logo.png")
            #expect(png.header("cache-control")?.contains("max-age=3600") == true)
            let missing = try c.request("GET", "/nope")
            #expect(missing.status == 404)
            #expect(missing.text == "<h1>custom missing</h1>")
            #expect(try c.request("GET", "/_redirects").status == 404)
            #expect(try c.request("GET", "/customHttp.yml").status == 404)
        }
    }

    @Test func headHasHeadersButNoBodyAndMethodsAreChecked() async throws {
        try await withSite { f in
            let c = try f.client()
            let head = try c.request("HEAD", "/big.txt")
            #expect(head.status == 200)
            #expect(head.header("content-length") == "1024")
            // A following request on the same connection parses cleanly only if HEAD sent no body.
            let next = try c.request("GET", "/logo.png")
            #expect(next.text == "PNGDATA")
            #expect(try c.request("POST", "/").status == 405)
            let options = try c.request("OPTIONS", "/")
            #expect(options.header("allow")?.contains("GET") == true)
        }
    }

    @Test(arguments: ["/../etc/passwd", "/%2e%2e/etc/passwd", "/a%2fb", "/a%5cb", "/a\\b", "/a%00b", "/a%zz", "/a%ff"])
    func badPathsAre400(path: String) async throws {
        try await withSite { f in
            let response = try f.client().request("GET", path)
            #expect(response.status == 400)
        }
    }

    @Test func hostHandling() async throws {
        try await withSite { f in
            let c = try f.client()
            #expect(try c.request("GET", "/", host: "site.test:8080").status == 200)
            #expect(try c.request("GET", "/", host: "SITE.test.").status == 200)
            let unknown = try c.request("GET", "/", host: "other.test")
            #expect(unknown.status == 404)
            #expect(!unknown.text.contains("home"))
            #expect(try c.request("GET", "http://site.test/about", host: "other.test").text == "<h1>home</h1>")
            let c2 = try f.client()
            #expect(try c2.request("GET", "/", host: nil).status == 400)
        }
    }

    @Test func rangesAtTheEdges() async throws {
        try await withSite { f in
            let c = try f.client()
            let first = try c.request("GET", "/big.txt", headers: ["Range": "bytes=0-0"])
            #expect(first.status == 206)
            #expect(first.text == "0")
            #expect(first.header("content-range") == "bytes 0-0/1024")
            #expect(first.header("content-encoding") == nil)
            let last = try c.request(
                "GET", "/big.txt", headers: ["Range": "bytes=1023-1023", "Accept-Encoding": "gzip"])
            #expect(last.status == 206)
            #expect(last.text == "f")
            #expect(last.header("content-encoding") == nil)
            let beyond = try c.request("GET", "/big.txt", headers: ["Range": "bytes=2000-"])
            #expect(beyond.status == 416)
            #expect(beyond.header("content-range") == "bytes */1024")
            let suffix = try c.request("GET", "/big.txt", headers: ["Range": "bytes=-5000"])
            #expect(suffix.status == 206)
            #expect(suffix.body.count == 1024)
            let open = try c.request("GET", "/big.txt", headers: ["Range": "bytes=1020-"])
            #expect(open.text == "cdef")
            let multi = try c.request("GET", "/big.txt", headers: ["Range": "bytes=0-1,4-5"])
            #expect(multi.status == 206)
            #expect(multi.header("content-type")?.hasPrefix("multipart/byteranges") == true)
            #expect(multi.text.contains("Content-Range: bytes 0-1/1024\r\n\r\n01"))
            #expect(multi.text.contains("Content-Range: bytes 4-5/1024\r\n\r\n45"))
            let etag = try #require(first.header("etag"))
            let match = try c.request("GET", "/big.txt", headers: ["Range": "bytes=0-1", "If-Range": etag])
            #expect(match.status == 206)
            let mismatch = try c.request("GET", "/big.txt", headers: ["Range": "bytes=0-1", "If-Range": "\"other\""])
            #expect(mismatch.status == 200)
            #expect(mismatch.body.count == 1024)
        }
    }

    @Test func gzipNegotiation() async throws {
        try await withSite { f in
            let c = try f.client()
            let gz = try c.request("GET", "/big.txt", headers: ["Accept-Encoding": "gzip"])
            #expect(gz.header("content-encoding") == "gzip")
            #expect(gz.body.count < 1024)
            #expect(gz.header("vary")?.lowercased().contains("accept-encoding") == true)
            let refused = try c.request("GET", "/big.txt", headers: ["Accept-Encoding": "gzip;q=0"])
            #expect(refused.header("content-encoding") == nil)
            #expect(refused.body.count == 1024)
            let star = try c.request("GET", "/big.txt", headers: ["Accept-Encoding": "*"])
            #expect(star.header("content-encoding") != nil)
            let none = try c.request("GET", "/big.txt")
            #expect(none.header("content-encoding") == nil)
            #expect(none.header("vary")?.lowercased().contains("accept-encoding") == true)
        }
    }

    @Test func conditionalRequests() async throws {
        try await withSite { f in
            let c = try f.client()
            let plain = try c.request("GET", "/logo.png")
            let etag = try #require(plain.header("etag"))
            let modified = try #require(plain.header("last-modified"))
            #expect(try c.request("GET", "/logo.png", headers: ["If-None-Match": etag]).status == 304)
            #expect(try c.request("GET", "/logo.png", headers: ["If-Modified-Since": modified]).status == 304)
            #expect(try c.request("GET", "/logo.png", headers: ["If-Match": "\"nope\""]).status == 412)
            #expect(
                try c.request("GET", "/logo.png", headers: ["If-Unmodified-Since": "Sun, 06 Nov 1994 08:49:37 GMT"])
                    .status
                    == 412)
            #expect(try c.request("GET", "/logo.png", headers: ["If-Match": etag]).status == 200)
            // Same bytes in another deployment → same ETag.
            let other = try f.deploy("d2", ["logo.png": "PNGDATA"])
            f.server.update(
                RoutingTable(routes: [
                    HostRoute(
                        hostname: "two.test", site: "site", environment: "b",
                        targets: [RouteTarget(label: "b", weight: 1, deployment: other)])
                ]))
            #expect(try c.request("GET", "/logo.png", host: "two.test").header("etag") == etag)
        }
    }

    @Test func basicAuthAndNoindex() async throws {
        try await withSite(password: BasicCredential(user: "u", password: "p"), noindex: true) { f in
            let c = try f.client()
            let denied = try c.request("GET", "/")
            #expect(denied.status == 401)
            #expect(denied.header("www-authenticate")?.hasPrefix("Basic") == true)
            let wrong = try c.request(
                "GET", "/", headers: ["Authorization": "Basic " + Data("u:x".utf8).base64EncodedString()])
            #expect(wrong.status == 401)
            let ok = try c.request(
                "GET", "/", headers: ["Authorization": "Basic " + Data("u:p".utf8).base64EncodedString()])
            #expect(ok.status == 200)
            #expect(ok.header("cache-control")?.contains("private") == true)
            #expect(ok.header("x-robots-tag")?.contains("noindex") == true)
        }
    }

    @Test func redirectsAndRewrites() async throws {
        let rules = SiteRules(redirects: [
            RedirectRule(source: "/go/<*>", target: "/dest/<*>", status: .redirect(302), syntax: .amplify, force: true),
            RedirectRule(
                source: "/p/<name>", target: "/people/<name>", status: .redirect(301), syntax: .amplify, force: true),
            RedirectRule(source: "/gone", target: "/404.html", status: .notFound, syntax: .amplify, force: false),
        ])
        try await withSite(rules: rules) { f in
            let c = try f.client()
            let splat = try c.request("GET", "/go/a/b")
            #expect(splat.status == 302)
            #expect(splat.header("location") == "/dest/a/b")
            let named = try c.request("GET", "/p/ann")
            #expect(named.status == 301)
            #expect(named.header("location") == "/people/ann")
            let gone = try c.request("GET", "/gone")
            #expect(gone.status == 404)
            // Netlify rules from _redirects.
            let old = try c.request("GET", "/old")
            #expect(old.status == 301)
            #expect(old.header("location") == "/about")
            let blog = try c.request("GET", "/blog/x/y")
            #expect(blog.status == 302)
            #expect(blog.header("location") == "/posts/x/y")
            // Forced rewrite shadows the existing about.html.
            let forced = try c.request("GET", "/about")
            #expect(forced.text == "<h1>home</h1>")
        }
    }

    @Test func spaRegexRuleRewritesUnknownRoutes() async throws {
        let rules = SiteRules(redirects: [
            RedirectRule(
                source: "^[^.]+$|\\.(?!(css|gif|ico|jpg|js|png|txt|svg|woff|ttf|map|json)$)([^.]+$)",
                target: "/index.html", status: .notFoundRewrite, syntax: .regex, force: false)
        ])
        try await withSite(rules: rules) { f in
            let c = try f.client()
            // SPA rule: an unknown extension-less route serves index.html with 200.
            let spa = try c.request("GET", "/app/route")
            #expect(spa.status == 200)
            #expect(spa.text == "<h1>home</h1>")
            #expect(try c.request("GET", "/logo.png").text == "PNGDATA")
            #expect(try c.request("GET", "/missing.png").status == 404)
        }
    }

    @Test func headerPrecedenceMostSpecificWins() async throws {
        try await withSite { f in
            let c = try f.client()
            #expect(try c.request("GET", "/docs/").header("x-scope") == "docs")
            #expect(try c.request("GET", "/logo.png").header("x-scope") == "all")
        }
    }

    @Test func pipeliningAndConnectionClose() async throws {
        try await withSite { f in
            let c = try f.client()
            try c.send(RawHTTPClient.format("GET", "/logo.png") + RawHTTPClient.format("GET", "/docs/"))
            #expect(try c.read().text == "PNGDATA")
            #expect(try c.read().text == "<h1>docs</h1>")
            let closing = try c.request("GET", "/logo.png", headers: ["Connection": "close"])
            #expect(closing.status == 200)
            #expect(try c.isClosedByPeer())
        }
    }

    @Test func splitDistributionStickyAndForced() async throws {
        let fixture = try EdgeFixture()
        let blue = try fixture.deploy("blue", ["index.html": "blue"])
        let green = try fixture.deploy("green", ["index.html": "green"])
        try await fixture.start([
            HostRoute(
                hostname: "site.test", site: "site", environment: "main",
                targets: [
                    RouteTarget(label: "main", weight: 90, deployment: blue),
                    RouteTarget(label: "next", weight: 10, deployment: green),
                ])
        ])
        let c = try fixture.client()
        var greens = 0
        var cookie: String?
        for _ in 0..<2000 {
            let r = try c.request("GET", "/")
            if r.text == "green" { greens += 1 }
            if cookie == nil, r.text == "green" { cookie = r.header("set-cookie") }
            #expect(r.header("set-cookie")?.hasPrefix("canopy-split") == true)
        }
        #expect(greens >= 140 && greens <= 260)
        let pair = try #require(cookie?.split(separator: ";").first.map(String.init))
        for _ in 0..<20 {
            #expect(try c.request("GET", "/", headers: ["Cookie": pair]).text == "green")
        }
        #expect(try c.request("GET", "/", headers: ["X-Canopy-Target": "next"]).text == "green")
        #expect(try c.request("GET", "/?canopy-target=main").text == "blue")
        try await fixture.server.shutdown()
    }

    @Test func tableSwapUnderLoad() async throws {
        let fixture = try EdgeFixture()
        let one = try fixture.deploy("one", ["index.html": "one"])
        let two = try fixture.deploy("two", ["index.html": "two"])
        func table(_ d: ServedDeployment) -> RoutingTable {
            RoutingTable(routes: [
                HostRoute(
                    hostname: "site.test", site: "site", environment: "main",
                    targets: [RouteTarget(label: "main", weight: 1, deployment: d)])
            ])
        }
        try await fixture.start([])
        fixture.server.update(table(one))
        let port = fixture.port
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let c = try RawHTTPClient(port: port)
                    for _ in 0..<300 {
                        let r = try c.request("GET", "/")
                        #expect(r.status == 200)
                        #expect(r.text == "one" || r.text == "two")
                    }
                }
            }
            for i in 0..<200 { fixture.server.update(table(i % 2 == 0 ? two : one)) }
            try await group.waitForAll()
        }
        try await fixture.server.shutdown()
    }
}

@Suite struct EdgeRuleKindTests {
    @Test func moreRuleKinds() async throws {
        let rules = SiteRules(redirects: [
            RedirectRule(
                source: "/q?id=<id>", target: "/item/<id>", status: .redirect(302), syntax: .amplify, force: true),
            RedirectRule(
                source: "https://old.test/<*>", target: "/moved/<*>", status: .redirect(301), syntax: .amplify,
                force: true),
            RedirectRule(source: "/r/(\\d+)$", target: "/num/$1", status: .redirect(302), syntax: .regex, force: true),
            RedirectRule(source: "/shadow", target: "/logo.png", status: .rewrite, syntax: .netlify, force: false),
            RedirectRule(source: "/logo.png", target: "/about", status: .redirect(302), syntax: .netlify, force: false),
            RedirectRule(
                source: "/fallback", target: "/about.html", status: .notFoundRewrite, syntax: .amplify, force: false),
            RedirectRule(
                source: "/n", target: "/n/:page", status: .redirect(301), syntax: .netlify, force: true,
                queryMatches: ["page": ":page"]),
        ])
        try await withSite(rules: rules) { f in
            let c = try f.client()
            let q = try c.request("GET", "/q?id=7")
            #expect(q.status == 302)
            #expect(q.header("location")?.hasPrefix("/item/7") == true)
            let domain = try c.request("GET", "/a/b", host: "old.test")
            #expect(domain.status == 404)  // old.test is not routed: unknown host
            let regex = try c.request("GET", "/r/42")
            #expect(regex.status == 302)
            #expect(regex.header("location") == "/num/42")
            // Netlify rewrite 200 to an existing file.
            #expect(try c.request("GET", "/shadow").text == "PNGDATA")
            // Not forced: the existing file shadows the rule.
            #expect(try c.request("GET", "/logo.png").status == 200)
            let fallback = try c.request("GET", "/fallback")
            #expect(fallback.status == 200)
            #expect(fallback.text == "<h1>about</h1>")
            let users = try c.request("GET", "/users/9")
            #expect(users.status == 301)
            #expect(users.header("location") == "/u/9.html")
            let page = try c.request("GET", "/n?page=3")
            #expect(page.status == 301)
            #expect(page.header("location")?.hasPrefix("/n/3") == true)
            #expect(try c.request("GET", "/n").status == 404)
            let identity = try c.request("GET", "/big.txt", headers: ["Accept-Encoding": "gzip, identity;q=0"])
            #expect(identity.header("content-encoding") == "gzip")
        }
    }

    @Test func domainSourceMatchedOnHost() async throws {
        let fixture = try EdgeFixture()
        let rules = SiteRules(redirects: [
            RedirectRule(
                source: "https://old.test/<*>", target: "/moved/<*>", status: .redirect(301), syntax: .amplify,
                force: true)
        ])
        let d = try fixture.deploy("d", ["index.html": "x"], rules: rules)
        try await fixture.start(
            ["old.test", "new.test"].map {
                HostRoute(
                    hostname: $0, site: "s", environment: "e",
                    targets: [RouteTarget(label: "m", weight: 1, deployment: d)])
            })
        let c = try fixture.client()
        let moved = try c.request("GET", "/a/b", host: "old.test")
        #expect(moved.status == 301)
        #expect(moved.header("location") == "/moved/a/b")
        #expect(try c.request("GET", "/a/b", host: "new.test").status == 404)
        try await fixture.server.shutdown()
    }
}

@Suite struct EdgeConnectionTests {
    @Test func headOnErrorsSendsNoBodyAndConnectionStaysUsable() async throws {
        try await withSite { f in
            let c = try f.client()
            let missing = try c.request("HEAD", "/nope")
            #expect(missing.status == 404)
            let redirect = try c.request("HEAD", "/docs")
            #expect(redirect.status == 301)
            let notAllowed = try c.request("DELETE", "/")
            #expect(notAllowed.status == 405)
            #expect(notAllowed.header("allow") != nil)
            let multi = try c.request(
                "GET", "/big.txt", headers: ["Range": "bytes=0-0,-1", "Accept-Encoding": "gzip"])
            #expect(multi.status == 206)
            #expect(multi.header("content-encoding") == nil)
            #expect(try c.request("GET", "/logo.png").text == "PNGDATA")
        }
    }

    @Test func deploymentWithout404PageGetsCanopy404() async throws {
        let fixture = try EdgeFixture()
        let d = try fixture.deploy("plain", ["index.html": "x"])
        try await fixture.start([
            HostRoute(
                hostname: "site.test", site: "s", environment: "e",
                targets: [RouteTarget(label: "m", weight: 1, deployment: d)])
        ])
        let response = try fixture.client().request("GET", "/nope")
        #expect(response.status == 404)
        #expect(response.text != "x")
        try await fixture.server.shutdown()
    }
}

@Suite struct EdgeConditionalEdgeCases {
    @Test func weakListAndStarEtags() async throws {
        try await withSite { f in
            let c = try f.client()
            let etag = try #require(try c.request("GET", "/logo.png").header("etag"))
            #expect(try c.request("GET", "/logo.png", headers: ["If-None-Match": "W/" + etag]).status == 304)
            #expect(try c.request("GET", "/logo.png", headers: ["If-None-Match": "\"x\", " + etag]).status == 304)
            #expect(try c.request("GET", "/logo.png", headers: ["If-None-Match": "*"]).status == 304)
            #expect(try c.request("GET", "/logo.png", headers: ["If-None-Match": "\"x\""]).status == 200)
        }
    }
}
