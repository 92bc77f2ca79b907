import CanopyEdge
import CanopySpec
import CanopyTestSupport
import Foundation
import Testing

/// One curl request to the edge: status, response headers (lowercased names) and body.
struct CurlAnswer {
    var status: Int
    var headers: [String: String]
    var body: Data
    var text: String { String(decoding: body, as: UTF8.self) }
    /// The upstream's JSON echo.
    var echo: [String: Any] { (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:] }
    var echoed: [String: String] { echo["headers"] as? [String: String] ?? [:] }
}

func curlEdge(_ port: Int, _ path: String, _ extra: [String] = [], http2: Bool = false) throws -> CurlAnswer {
    let dir = NSTemporaryDirectory() + "canopy-curl-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let arguments =
        [
            "curl", "-s", "--max-time", "20", "--path-as-is", "-H", "Host: site.test", "-D", dir + "/h", "-o",
            dir + "/b", "-w", "%{http_code}",
        ]
        + (http2 ? ["--http2-prior-knowledge"] : []) + extra + ["http://127.0.0.1:\(port)\(path)"]
    let (_, output) = try runProcess(arguments, discardingErrors: true)
    var headers: [String: String] = [:]
    let head = (try? String(contentsOfFile: dir + "/h", encoding: .utf8)) ?? ""
    for line in head.split(separator: "\r\n") {
        guard let colon = line.firstIndex(of: ":"), !line.hasPrefix("HTTP/") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    let body = FileManager.default.contents(atPath: dir + "/b") ?? Data()
    return CurlAnswer(status: Int(String(decoding: output, as: UTF8.self)) ?? 0, headers: headers, body: body)
}

/// Serves a site whose `_redirects` is `redirects` (and `netlify.toml`, when given) on a real edge,
/// with the proxy timeouts made short.
func withProxySite(
    _ redirects: String, toml: String? = nil, _ body: (EdgeFixture) async throws -> Void
) async throws {
    var files = ["index.html": "home", "_redirects": redirects]
    if let toml { files["netlify.toml"] = toml }
    let fixture = try EdgeFixture { configuration in
        configuration.proxyConnectTimeout = .seconds(2)
        configuration.proxyReadTimeout = .seconds(1)
        configuration.proxyMaxConnections = 8
    }
    let deployment = try fixture.deploy("d1", files)
    try await fixture.start([
        HostRoute(
            hostname: "site.test", site: "site", environment: "main",
            targets: [RouteTarget(label: "main", weight: 1, deployment: deployment)])
    ])
    do {
        try await body(fixture)
    } catch {
        try await fixture.server.shutdown()
        throw error
    }
    try await fixture.server.shutdown()
}

/// Proxy rewrites over real HTTP on loopback, to a real upstream (Python's http.server). The rule
/// is Netlify's documented one (docs.netlify.com/routing/redirects/rewrites-proxies, "Proxy to
/// another service": `/api/*  https://api.example.com/:splat  200`), which Amplify writes as
/// `/<*>` → `https://…/<*>` with status 200 (docs.aws.amazon.com/amplify/latest/userguide/
/// redirects.html, "Reverse proxy rewrite").
@Suite(.serialized) struct EdgeProxyTests {
    static func rule(_ upstream: ProxyUpstream) -> String {
        "/static /index.html 200\n/api/*  http://127.0.0.1:\(upstream.port)/v1/:splat  200\n"
    }

    /// A 5 MiB file of varied bytes to upload, and its SHA-256 (the caller removes it).
    static func bodyFile() throws -> (path: String, sha256: String) {
        let file = NSTemporaryDirectory() + "canopy-body-" + UUID().uuidString
        var bytes = [UInt8](repeating: 0, count: 5 << 20)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 2_654_435_761 >> 13) }
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return (file, String(try sh(["sha256sum", file]).split(separator: " ")[0]))
    }

    /// Method, splat path and query (Netlify passes the query on), end-to-end headers and the
    /// X-Forwarded fields reach the upstream; hop-by-hop ones and those Connection names do not;
    /// Host is the upstream's.
    @Test(arguments: [false, true])
    func getForwardsPathQueryAndHeaders(http2: Bool) async throws {
        let upstream = try ProxyUpstream()
        try await withProxySite(Self.rule(upstream)) { f in
            let answer = try curlEdge(
                f.port, "/api/users/42?page=2&q=a%20b",
                [
                    "-H", "X-Custom: kept", "-H", "X-Forwarded-For: 10.0.0.1", "-H", "Proxy-Authorization: Basic eA==",
                ] + (http2 ? [] : ["-H", "Connection: X-Private", "-H", "X-Private: secret", "-H", "Keep-Alive: 5"]),
                http2: http2)
            #expect(answer.status == 200)
            #expect(answer.headers["x-upstream"] == "python")
            #expect(answer.echo["method"] as? String == "GET")
            #expect(answer.echo["path"] as? String == "/v1/users/42?page=2&q=a%20b")
            let seen = answer.echoed
            #expect(seen["host"] == "127.0.0.1:\(upstream.port)")
            #expect(seen["x-custom"] == "kept")
            #expect(seen["x-forwarded-for"] == "10.0.0.1, 127.0.0.1")
            #expect(seen["x-forwarded-proto"] == "http")
            #expect(seen["x-forwarded-host"] == "site.test")
            #expect(seen["x-private"] == nil)
            #expect(seen["keep-alive"] == nil)
            #expect(seen["proxy-authorization"] == nil)
            // A request cannot move the upstream: what looks like an authority stays in the path.
            let sneaky = try curlEdge(f.port, "/api/@127.0.0.2:1/x", http2: http2)
            #expect(sneaky.echo["path"] as? String == "/v1/@127.0.0.2:1/x")
            // The site's own files and rewrites are untouched.
            #expect(try curlEdge(f.port, "/static", http2: http2).text == "home")
        }
    }

    /// A 5 MB POST body reaches the upstream whole (streamed, not skipped or refused).
    @Test(arguments: [false, true])
    func postBodyIsStreamed(http2: Bool) async throws {
        let upstream = try ProxyUpstream()
        let (file, digest) = try Self.bodyFile()
        defer { try? FileManager.default.removeItem(atPath: file) }
        try await withProxySite(Self.rule(upstream)) { f in
            let answer = try curlEdge(
                f.port, "/api/upload", ["-X", "POST", "--data-binary", "@" + file, "-H", "Expect:"], http2: http2)
            #expect(answer.status == 200)
            #expect(answer.echo["method"] as? String == "POST")
            #expect(answer.echo["bodyLength"] as? Int == 5 << 20)
            #expect(answer.echo["bodySHA256"] as? String == digest)
            // With `Expect: 100-continue` too (curl's default for large bodies over HTTP/1.1).
            let expecting = try curlEdge(
                f.port, "/api/upload", ["-X", "PUT", "--data-binary", "@" + file], http2: http2)
            #expect(expecting.echo["bodyLength"] as? Int == 5 << 20)
            #expect(expecting.echo["method"] as? String == "PUT")
            // A POST outside the proxy rule is still refused by the static host.
            #expect(try curlEdge(f.port, "/index.html", ["-X", "POST", "-d", "x"], http2: http2).status == 405)
        }
    }

    /// The upstream's headers come back without its hop-by-hop ones; a chunked answer is relayed.
    @Test(arguments: [false, true])
    func responseHeadersWithoutHopByHop(http2: Bool) async throws {
        let upstream = try ProxyUpstream()
        try await withProxySite(Self.rule(upstream)) { f in
            let answer = try curlEdge(f.port, "/api/hop", http2: http2)
            #expect(answer.status == 200)
            #expect(answer.headers["x-kept"] == "yes")
            #expect(answer.headers["set-cookie"] == "a=1")
            #expect(answer.headers["x-secret"] == nil)
            #expect(answer.headers["keep-alive"] == nil)
            #expect(answer.headers["proxy-agent"] == nil)
            #expect(answer.headers["upgrade"] == nil)
            let chunked = try curlEdge(f.port, "/api/chunked", http2: http2)
            #expect(chunked.text == "hello chunked world")
        }
    }

    /// An upstream that refuses the connection: 502, with a body naming it.
    @Test(arguments: [false, true])
    func upstreamDownIs502(http2: Bool) async throws {
        let port = try closedLoopbackPort()
        try await withProxySite("/api/*  http://127.0.0.1:\(port)/:splat  200\n") { f in
            let answer = try curlEdge(f.port, "/api/x", http2: http2)
            #expect(answer.status == 502)
            #expect(answer.text.contains("http://127.0.0.1:\(port)"))
            #expect(answer.headers["content-type"]?.hasPrefix("text/plain") == true)
        }
    }

    /// An upstream that never answers: 504 once the read timeout (1 s here) passes, naming it.
    @Test(arguments: [false, true])
    func silentUpstreamIs504(http2: Bool) async throws {
        let upstream = try ProxyUpstream()
        try await withProxySite("/silent  http://127.0.0.1:\(upstream.port)/silent  200\n") { f in
            let answer = try curlEdge(f.port, "/silent", http2: http2)
            #expect(answer.status == 504)
            #expect(answer.text.contains("http://127.0.0.1:\(upstream.port)"))
            #expect(answer.text.contains("read timeout"))
            // The edge still answers other requests meanwhile and after.
            #expect(try curlEdge(f.port, "/index.html", http2: http2).text == "home")
        }
    }

    /// Keep-alive reuse: sequential requests (each from a new client connection) share pooled
    /// upstream connections, so the upstream sees fewer connections than requests.
    @Test(arguments: [false, true])
    func upstreamConnectionsAreReused(http2: Bool) async throws {
        let upstream = try ProxyUpstream()
        try await withProxySite(Self.rule(upstream)) { f in
            var statuses: [Int] = []
            for i in 0..<8 { statuses.append(try curlEdge(f.port, "/api/n\(i)", http2: http2).status) }
            #expect(statuses == Array(repeating: 200, count: 8))
            let connections = try upstream.connections()
            #expect(connections < 8)
        }
    }

    /// netlify.toml's `headers = {X-From = "Netlify"}` on a proxy rule go to the upstream
    /// (docs.netlify.com/routing/redirects/rewrites-proxies, "Custom headers in proxy redirects").
    @Test func netlifyTOMLProxyHeadersReachTheUpstream() async throws {
        let upstream = try ProxyUpstream()
        let toml = """
            [[redirects]]
              from = "/search/*"
              to = "http://127.0.0.1:\(upstream.port)/find/:splat"
              status = 200
              headers = {X-From = "Netlify", X-Api-Key = "some-api-key-string"}
            """
        try await withProxySite("", toml: toml) { f in
            let answer = try curlEdge(f.port, "/search/cats")
            #expect(answer.echo["path"] as? String == "/find/cats")
            #expect(answer.echoed["x-from"] == "Netlify")
            #expect(answer.echoed["x-api-key"] == "some-api-key-string")
        }
    }

    /// Custom headers are not applied to proxied content: "Custom headers apply only to files
    /// Netlify serves from our own backing store. If you are proxying content to your site […]
    /// custom headers won't be applied to that content" (docs.netlify.com/routing/headers,
    /// Limitations). Amplify says nothing of proxies; Canopy does as Netlify for every rule source.
    /// The same rule still reaches a rewrite served from the site's files.
    @Test func customHeadersAreNotAppliedToProxiedResponses() async throws {
        let upstream = try ProxyUpstream()
        let toml = """
            [[headers]]
              for = "/*"
              [headers.values]
                X-Frame-Options = "DENY"
            """
        try await withProxySite(Self.rule(upstream), toml: toml) { f in
            let proxied = try curlEdge(f.port, "/api/x")
            #expect(proxied.headers["x-upstream"] == "python")
            #expect(proxied.headers["x-frame-options"] == nil)
            #expect(try curlEdge(f.port, "/static").headers["x-frame-options"] == "DENY")
        }
    }
}
