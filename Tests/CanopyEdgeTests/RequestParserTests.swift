import Testing

@testable import CanopyEdge

/// The request-head parser on its own: every outcome, from bytes.
@Suite struct RequestParserTests {
    func parse(_ text: String, scanFrom: Int = 0) -> RequestParser.Outcome {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBytes { RequestParser.parse(UnsafeRawBufferPointer($0), scanFrom: scanFrom) }
    }

    func request(_ text: String) throws -> (EdgeRequest, Int, Int) {
        guard case .request(let request, let length, let body) = parse(text) else {
            Issue.record("expected a request from \(text.debugDescription), got \(parse(text))")
            throw CancellationError()
        }
        return (request, length, body)
    }

    func failure(_ text: String) -> Int? {
        if case .failure(let status, _, _) = parse(text) { return status }
        return nil
    }

    @Test func readsTheFieldsTheEdgeUses() throws {
        let head =
            "GET /a%20b?x=1 HTTP/1.1\r\nHOST: Example.COM:8080\r\naccept-encoding: gzip\r\nAccept-Encoding: br;q=0.5\r\n"
            + "Range: bytes=0-1\r\nIf-Range: \"e\"\r\nIf-None-Match: \"a\"\r\nIf-Match: \"b\"\r\n"
            + "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\nIf-Unmodified-Since: x\r\n"
            + "Authorization: Basic dTpw\r\nCookie: a=1\r\nCookie: canopy-split=0.5\r\nX-Canopy-Target: dev\r\n"
            + "Referer: http://r/\r\nUser-Agent:   curl/8  \r\nX-Other: ignored\r\n\r\nNEXT"
        let (r, length, body) = try request(head)
        #expect(length == head.utf8.count - 4)
        #expect(body == 0)
        #expect(r.method == .get && r.methodName == "GET" && r.uri == "/a%20b?x=1" && r.minorVersion == 1)
        #expect(r.keepAlive)
        #expect(r.host == "Example.COM:8080")
        #expect(r.acceptEncoding == "gzip, br;q=0.5")
        #expect(r.range == "bytes=0-1" && r.ifRange == "\"e\"" && r.ifNoneMatch == "\"a\"" && r.ifMatch == "\"b\"")
        #expect(r.ifModifiedSince == "Sun, 06 Nov 1994 08:49:37 GMT" && r.ifUnmodifiedSince == "x")
        #expect(r.authorization == "Basic dTpw")
        #expect(r.cookie == "a=1; canopy-split=0.5")
        #expect(r.canopyTarget == "dev" && r.referer == "http://r/")
        #expect(r.userAgent == "curl/8")  // optional whitespace trimmed on both sides
    }

    @Test func incompleteHeadsWaitAndResumeTheSearch() throws {
        let full = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
        for cut in 1..<full.utf8.count {
            let part = String(full.utf8.prefix(cut))!
            guard case .incomplete(let scanned) = parse(part) else {
                Issue.record("a head cut at \(cut) bytes was not incomplete")
                continue
            }
            #expect(scanned <= cut)
            // Resuming from where the search stopped finds the end once the rest arrives.
            guard case .request(_, let length, _) = parse(full, scanFrom: scanned) else {
                Issue.record("resuming at \(scanned) did not find the head")
                continue
            }
            #expect(length == full.utf8.count)
        }
    }

    @Test func methodsAndVersions() throws {
        #expect(try request("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n").0.method == .head)
        #expect(try request("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").0.method == .options)
        #expect(try request("DELETE / HTTP/1.1\r\nHost: a\r\n\r\n").0.method == .other)
        #expect(try request("get / HTTP/1.1\r\nHost: a\r\n\r\n").0.method == .other)  // methods are case-sensitive
        let old = try request("GET / HTTP/1.0\r\n\r\n").0
        #expect(old.minorVersion == 0 && !old.keepAlive && old.host == nil)
        #expect(try request("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").0.keepAlive)
        #expect(failure("GET / HTTP/2.0\r\nHost: a\r\n\r\n") == 505)
        #expect(failure("GET / HTTP/1.2\r\nHost: a\r\n\r\n") == 505)
        #expect(failure("GET / http/1.1\r\nHost: a\r\n\r\n") == 400)
        #expect(failure("GET / HTTP/1.1 \r\nHost: a\r\n\r\n") == 400)
        #expect(failure("GET /\r\nHost: a\r\n\r\n") == 400)
        #expect(failure("GET  / HTTP/1.1\r\nHost: a\r\n\r\n") == 400)
        #expect(failure("GE(T / HTTP/1.1\r\nHost: a\r\n\r\n") == 400)
    }

    @Test func connectionTokens() throws {
        #expect(try !request("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, CLOSE\r\n\r\n").0.keepAlive)
        #expect(try request("GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n").0.keepAlive)
        #expect(try !request("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").0.keepAlive)
    }

    @Test func leadingEmptyLinesAreIgnored() throws {
        let (r, length, _) = try request("\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(r.uri == "/x")
        #expect(length == 4 + "GET /x HTTP/1.1\r\nHost: a\r\n\r\n".utf8.count)
    }

    @Test(arguments: [
        "GET / HTTP/1.1\r\nHost a\r\n\r\n",  // no colon
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",  // space before the colon
        "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",  // obs-fold
        "GET / HTTP/1.1\r\nHost: a\r\n\tfolded\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n",  // NUL
        "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",  // bare CR
        "GET / HTTP/1.1\r\nHost: a\r\nX: \u{7F}\r\n\r\n",  // DEL
        "GET / HTTP/1.1\r\n: empty\r\n\r\n",  // empty name
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",  // two Hosts
        "GET / HTTP/1.1\r\n\r\n",  // HTTP/1.1 without Host
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",  // chunked is not the last coding
        "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        "GET / HTTP/1.1\nHost: a\n\n",  // bare LF line ends
    ])
    func malformedHeadsAre400(head: String) {
        #expect(failure(head) == 400)
    }

    /// RFC 9112 §6.1/§6.3: `chunked` alone and last frames the body; anything else is refused.
    @Test func transferCodings() throws {
        let chunked = try request("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:  Chunked \r\n\r\n")
        #expect(chunked.0.chunked && chunked.0.keepAlive && chunked.2 == 0)
        let waiting = try request(
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n")
        #expect(waiting.0.chunked && !waiting.0.keepAlive && waiting.0.persistent)
        #expect(failure("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n") == 501)
        #expect(
            failure("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n")
                == 501)
        #expect(failure("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n") == 400)
        #expect(failure("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;x=1\r\n\r\n") == 400)
        #expect(failure("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n") == 400)
    }

    @Test func bodies() throws {
        #expect(try request("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello").2 == 5)
        // Equal duplicates are one value.
        #expect(try request("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n").2 == 5)
        // A client waiting for 100 Continue may never send its body; a huge body is not read: the
        // connection closes after the answer instead.
        let waiting = try request("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        #expect(waiting.2 == 0 && !waiting.0.keepAlive)
        let huge = try request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999\r\n\r\n")
        #expect(huge.2 == 0 && !huge.0.keepAlive)
    }

    @Test func limits() {
        let longTarget = "/" + String(repeating: "a", count: RequestParser.maxRequestLine + 10)
        #expect(failure("GET \(longTarget) HTTP/1.1\r\nHost: a\r\n\r\n") == 414)
        #expect(failure("GET \(longTarget)") == 414)  // before the line is even complete
        let bigHeaders = (0..<40).map { "X-\($0): \(String(repeating: "v", count: 500))\r\n" }.joined()
        #expect(failure("GET / HTTP/1.1\r\nHost: a\r\n\(bigHeaders)\r\n") == 431)
        #expect(failure("GET / HTTP/1.1\r\nHost: a\r\n\(bigHeaders)") == 431)  // incomplete but too big already
        let many = (0..<(RequestParser.maxHeaders + 1)).map { "X-\($0): v\r\n" }.joined()
        #expect(failure("GET / HTTP/1.1\r\nHost: a\r\n\(many)\r\n") == 431)
        let browser = (0..<30).map { "X-Browser-\($0): some value \($0)\r\n" }.joined()
        #expect(failure("GET / HTTP/1.1\r\nHost: a\r\n\(browser)\r\n") == nil)
    }

    @Test func requestTargets() throws {
        let plain = try RequestTarget.parse("/docs/")
        #expect(plain.path == "docs" && plain.trailingSlash && plain.query.isEmpty && plain.host == nil)
        #expect(try RequestTarget.parse("/").path == "")
        #expect(try RequestTarget.parse("/a/b.c?q=1#f").query == "q=1")
        #expect(try RequestTarget.parse("/caf%C3%A9").path == "café")
        #expect(try RequestTarget.parse("//a//b").path == "a/b")
        #expect(try RequestTarget.parse("/a/.../b").path == "a/.../b")
        let absolute = try RequestTarget.parse("HTTP://Example.com:80/x?y")
        #expect(absolute.host == "Example.com:80" && absolute.path == "x" && absolute.query == "y")
        #expect(try RequestTarget.parse("http://example.com").path == "")
        for bad in [
            "/a/../b", "/..", "/.", "/a/./b", "/%2e%2e/x", "/a%2Fb", "/a%5cb", "/a\\b", "/a%00", "/%zz", "/%ff", "x",
        ] {
            #expect(throws: RequestTarget.Problem.self, "\(bad)") { try RequestTarget.parse(bad) }
        }
        #expect(normaliseHost("Example.COM.:8080") == "example.com")
        #expect(normaliseHost("[::1]:80") == "[::1]")
        #expect(normaliseHost("plain.test") == "plain.test")
    }

    @Test func acceptEncodingQualities() {
        let all: Set<ContentCoding> = [.identity, .gzip, .brotli]
        func choose(_ header: String, _ codings: Set<ContentCoding> = all) -> ContentCoding {
            EncodingNegotiation.chooseAmong(header, available: codings)
        }
        #expect(choose("gzip") == .gzip)
        #expect(choose("gzip, br") == .brotli)
        #expect(choose("br;q=0.5, gzip") == .gzip)
        #expect(choose("GZIP;Q=0.8, identity;q=0.9") == .identity)
        #expect(choose("*") == .brotli)
        #expect(choose("*;q=0, identity") == .identity)
        #expect(choose("x-gzip", [.identity, .gzip]) == .gzip)
        #expect(choose("br;q=0, gzip;q=0") == .identity)
        #expect(choose("br;q=abc, gzip;q=0.001") == .identity)  // identity stays acceptable at q=1
        #expect(choose("br;q=abc, gzip;q=0.001, identity;q=0") == .gzip)
        #expect(choose("deflate") == .identity)
    }
}
