import CanopyEdge
import CanopySpec
import Foundation
import Testing

/// What a hostile request must not be able to do (issue #15, items 5 and the medium ones): put a
/// header of its own into a response, amplify a response with ranges, route HTTP/2 by a Host that
/// contradicts `:authority`, or forge access log lines.
@Suite struct EdgeHardeningTests {
    @Test func redirectPlaceholdersCannotInjectHeaders() async throws {
        let rules = SiteRules(redirects: [
            RedirectRule(source: "/go/<*>", target: "/dest/<*>", status: .redirect(302), syntax: .amplify, force: true)
        ])
        try await withSite(rules: rules) { f in
            let c = try f.client()
            // A `_redirects` splat (`/blog/* /posts/:splat 302`): CR LF decoded from the path would
            // end the Location header and start a Set-Cookie of the visitor's choosing.
            let netlify = try c.request("GET", "/blog/%0D%0ASet-Cookie:%20x=1")
            #expect(netlify.status == 302)
            #expect(netlify.all("set-cookie").isEmpty)
            #expect(netlify.header("location") == "/posts/%0D%0ASet-Cookie:%20x=1")
            // An Amplify `<*>` rule, with a query kept as sent.
            let amplify = try c.request("GET", "/go/a%0D%0AX-Injected:%201?q=%0D%0A")
            #expect(amplify.status == 302)
            #expect(amplify.header("x-injected") == nil)
            #expect(amplify.header("location") == "/dest/a%0D%0AX-Injected:%201?q=%0D%0A")
            // Markup is encoded too (the redirect's small HTML body repeats the location).
            let markup = try c.request("GET", "/go/%3Cscript%3Ealert(1)%3C/script%3E%20%22")
            #expect(markup.header("location") == "/dest/%3Cscript%3Ealert(1)%3C/script%3E%20%22")
            #expect(!markup.text.contains("<script>"))
            // Plain targets are untouched.
            #expect(try c.request("GET", "/go/a/b").header("location") == "/dest/a/b")
        }
    }

    /// nginx 1.22 on this machine, same 1 KiB file: `bytes=0-,0-,…` (16 times) → 200 with the whole
    /// file once (it ignores ranges that add up to more than the file); `bytes=0-1,0-1,0-1` → a
    /// 206 multipart with the three parts as asked; `bytes=0-600,500-1000` → 200 (1,102 > 1,024 bytes).
    @Test func overlappingRangesAreAnsweredAsNginxDoes() async throws {
        try await withSite { f in
            let c = try f.client()
            let sixteen = try c.request(
                "GET", "/big.txt",
                headers: ["Range": "bytes=" + Array(repeating: "0-", count: 16).joined(separator: ",")])
            #expect(sixteen.status == 200)
            #expect(sixteen.body.count == 1024)
            #expect(sixteen.header("content-type")?.hasPrefix("multipart") == false)
            let overlapping = try c.request("GET", "/big.txt", headers: ["Range": "bytes=0-600,500-1000"])
            #expect(overlapping.status == 200)
            #expect(overlapping.body.count == 1024)
            let small = try c.request("GET", "/big.txt", headers: ["Range": "bytes=0-1,0-1,0-1"])
            #expect(small.status == 206)
            #expect(small.text.components(separatedBy: "Content-Range: bytes 0-1/1024").count == 4)
            // Past 16 ranges the Range header is ignored (nginx's max_ranges).
            let many = (0..<17).map { "\($0 * 2)-\($0 * 2)" }.joined(separator: ",")
            #expect(try c.request("GET", "/big.txt", headers: ["Range": "bytes=" + many]).status == 200)
        }
    }

    @Test func http2RoutesByAuthorityNotByHost() async throws {
        try await withSite { f in
            // RFC 9113 §8.3.1: with :authority present, Host must not decide the target.
            let body = try h2Get(
                port: f.port, path: "/", fields: [(":authority", "site.test"), ("host", "other.test")])
            #expect(String(decoding: body, as: UTF8.self) == "<h1>home</h1>")
            let other = try h2Get(
                port: f.port, path: "/", fields: [(":authority", "other.test"), ("host", "site.test")])
            #expect(String(decoding: other, as: UTF8.self).contains("No site is served at this hostname"))
        }
    }

    @Test func accessLogEscapesWhatTheRequestSent() async throws {
        let fixture = try EdgeFixture {
            $0.accessLog = NSTemporaryDirectory() + "canopy-access-\(UUID().uuidString).log"
        }
        let path = fixture.server.configuration.accessLog!
        defer { try? FileManager.default.removeItem(atPath: path) }
        let deployment = try fixture.deploy("d1", siteFiles)
        try await fixture.start([
            HostRoute(
                hostname: "site.test", site: "site", environment: "main",
                targets: [RouteTarget(label: "main", weight: 1, deployment: deployment)])
        ])
        // A Host that writes a whole forged entry after its own, and an agent that closes its quotes.
        let forged = "a.test 6.6.6.6 - - [01/Jan/2030:00:00:00 +0000] \"GET /forged HTTP/1.1\" 200 1 \"-\" \"-\""
        _ = try fixture.client().request("GET", "/", host: forged, headers: ["User-Agent": "ua\" \"é"])
        var text = ""
        for _ in 0..<50 where !text.contains("\n") {
            try await Task.sleep(for: .milliseconds(100))
            text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        }
        try await fixture.server.shutdown()
        let line = try #require(text.split(separator: "\n").first.map(String.init))
        let fields = line.split(separator: " ")
        #expect(fields[0].hasPrefix("a.test\\x206.6.6.6\\x20-"))
        #expect(fields[1] == "127.0.0.1")
        #expect(!line.contains("\"GET /forged"))
        #expect(line.hasSuffix(" \"ua\\x22 \\x22\\xC3\\xA9\" http"))  // the last field: the scheme
        #expect(line.filter { $0 == "\"" }.count == 6)  // the request line, the referer, the agent
    }

    /// One HTTP/2 GET over h2c with prior knowledge, frames built by hand (HPACK literals without
    /// indexing, so any field can be sent): the response's DATA.
    func h2Get(port: Int, path: String, fields: [(String, String)]) throws -> [UInt8] {
        func frame(_ type: UInt8, _ flags: UInt8, _ stream: UInt8, _ payload: [UInt8]) -> [UInt8] {
            [0, 0, UInt8(payload.count), type, flags, 0, 0, 0, stream] + payload
        }
        var block: [UInt8] = []
        for (name, value) in [(":method", "GET"), (":scheme", "http"), (":path", path)] + fields {
            block += [0, UInt8(name.utf8.count)] + Array(name.utf8) + [UInt8(value.utf8.count)] + Array(value.utf8)
        }
        let client = try FloodClient(port: port)
        try client.sendAll(
            Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + frame(4, 0, 0, []) + frame(1, 0x05, 1, block))
        var data: [UInt8] = []
        while true {
            let head = try client.readExactly(9)
            let length = Int(head[0]) << 16 | Int(head[1]) << 8 | Int(head[2])
            let payload = length > 0 ? try client.readExactly(length) : []
            guard head[8] == 1 else { continue }  // stream 1 only
            if head[3] == 0 { data += payload }
            if head[3] == 3 { throw RawHTTPError.malformed("stream reset") }
            if head[4] & 0x01 != 0 && (head[3] == 0 || head[3] == 1) { return data }
        }
    }
}
