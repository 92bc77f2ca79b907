import CanopyEdge
import CanopyTestSupport
import Foundation
import Testing

/// Chunked request bodies (RFC 9112 §7.1) over real loopback sockets: discarded after a static
/// answer as nginx 1.22 does, streamed to a proxy rule's upstream, and refused where RFC 9112 §6
/// says the framing is ambiguous, so that no body is ever read as a request (smuggling).
@Suite(.serialized) struct EdgeChunkedBodyTests {
    static let post = "POST /index.html HTTP/1.1\r\nHost: site.test\r\nTransfer-Encoding: chunked\r\n\r\n"

    /// nginx 1.22, `POST /index.html` with a chunked body to a static root, then a pipelined GET:
    /// `405 Not Allowed` with `Connection: keep-alive`, the body read and dropped, then `200` for
    /// the GET on the same connection; extensions and trailer fields are accepted, the coding's
    /// name is case-insensitive, and a GET may carry a chunked body too. The body that spells a
    /// request is a body.
    @Test func aChunkedBodyToAStaticFileIsDiscardedAndTheConnectionKept() async throws {
        try await withSite { f in
            let c = try f.client()
            let inner = "GET /logo.png HTTP/1.1\r\nHost: x\r\n\r\n"
            try c.send(
                Self.post + "5;name=value\r\nhello\r\n" + String(inner.utf8.count, radix: 16) + "\r\n" + inner
                    + "\r\n0\r\nX-Trailer: a\r\n\r\n" + RawHTTPClient.format("GET", "/docs/"))
            let refused = try c.read()
            #expect(refused.status == 405)
            #expect(refused.header("connection") == nil)
            #expect(try c.read().text == "<h1>docs</h1>")
            // In pieces: the size line, data and the final CRLF split across writes.
            try c.send("GET /logo.png HTTP/1.1\r\nHost: site.test\r\nTransfer-Encoding: Chunked\r\n\r\n3\r")
            #expect(try c.read().text == "PNGDATA")
            for piece in ["\nab", "c\r", "\n0", "\r\n", "\r\n"] {
                try c.send(piece)
                usleep(2000)
            }
            #expect(try c.request("GET", "/docs/").text == "<h1>docs</h1>")
        }
    }

    /// Framings RFC 9112 §6 calls ambiguous, refused before any body is read, and the connection
    /// closed, so the request that follows (what a smuggler hides) is never answered. nginx 1.22
    /// answers the same statuses, except `gzip` alone and `chunked, gzip` (501 there): RFC 9112 §6.3
    /// requires 400 when chunked is not the last coding.
    @Test(arguments: [
        ("Transfer-Encoding: chunked\r\nContent-Length: 5", 400),  // CL.TE / TE.CL
        ("Content-Length: 5\r\nTransfer-Encoding: chunked", 400),
        ("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked", 400),  // chunked twice
        ("Transfer-Encoding: chunked, gzip", 400),  // chunked not last
        ("Transfer-Encoding: gzip", 400),
        ("Transfer-Encoding: xchunked", 400),
        ("Transfer-Encoding: chunked\r\nTransfer-Encoding: identity", 400),
        ("Transfer-Encoding:", 400),
        ("Transfer-Encoding: gzip, chunked", 501),  // understood framing, coding not implemented
    ])
    func ambiguousFramingsAreRefused(fields: String, status: Int) async throws {
        try await withSite { f in
            let c = try f.client()
            try c.send(
                "POST /index.html HTTP/1.1\r\nHost: site.test\r\n\(fields)\r\n\r\n0\r\n\r\n"
                    + RawHTTPClient.format("GET", "/logo.png"))
            let refused = try c.read()
            #expect(refused.status == status)
            #expect(refused.header("connection") == "close")
            #expect(try c.isClosedByPeer())
        }
    }

    /// HTTP/1.0 has no Transfer-Encoding: RFC 9112 §6.1 says to treat its framing as faulty (nginx: 400).
    @Test func transferEncodingInHTTP10IsRefused() async throws {
        try await withSite { f in
            let c = try f.client()
            try c.send("POST /index.html HTTP/1.0\r\nHost: site.test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
            #expect(try c.read().status == 400)
            #expect(try c.isClosedByPeer())
        }
    }

    /// A malformed chunked body after a static answer: the answer is sent, then the connection
    /// closes; the request hidden after the bad chunk is not answered. Stricter than nginx 1.22 in
    /// one place: a bare LF ending a chunk-size line (nginx takes it) is malformed here.
    @Test(arguments: [
        "zz\r\nhello\r\n0\r\n\r\n",  // not hexadecimal
        "0x5\r\nhello\r\n0\r\n\r\n",
        "-5\r\nhello\r\n0\r\n\r\n",
        "5 \r\nhello\r\n0\r\n\r\n",  // whitespace without an extension
        "5\nhello\r\n0\r\n\r\n",  // bare LF
        "5\r\nhelloXX0\r\n\r\n",  // data longer than its size
        "fffffffffffffffffff\r\nhello\r\n0\r\n\r\n",  // overflow
        "0\r\nnot a field\r\n\r\n",  // a trailer line that is no field
    ])
    func malformedChunksCloseTheConnection(body: String) async throws {
        try await withSite { f in
            let c = try f.client()
            try c.send(Self.post + body + RawHTTPClient.format("GET", "/logo.png"))
            #expect(try c.read().status == 405)
            #expect(try c.isClosedByPeer())
        }
    }

    /// A chunked body over `maxSkippedBody` (64 KiB) is not read to its end after a static answer:
    /// the connection closes instead.
    @Test func aLargeChunkedBodyToAStaticFileClosesTheConnection() async throws {
        try await withSite { f in
            let c = try f.client()
            let chunk = String(repeating: "x", count: 32 << 10)
            let part = String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n"
            try c.send(Self.post + part + part + part)
            #expect(try c.read().status == 405)
            #expect(try c.isClosedByPeer())
        }
    }

    // MARK: Proxy rules

    /// A 5 MB chunked POST reaches the upstream whole, sent on chunked (streamed, as the edge never
    /// holds the body), with `Expect: 100-continue` too; HTTP/2 has no chunked coding, and a DATA
    /// body without content-length goes upstream chunked the same way.
    @Test(arguments: [false, true])
    func aChunkedBodyIsStreamedToTheUpstream(http2: Bool) async throws {
        let upstream = try ProxyUpstream()
        let (file, digest) = try EdgeProxyTests.bodyFile()
        defer { try? FileManager.default.removeItem(atPath: file) }
        try await withProxySite(EdgeProxyTests.rule(upstream)) { f in
            for expect in [[], ["-H", "Expect:"]] {
                let answer = try curlEdge(
                    f.port, "/api/upload",
                    ["-X", "POST", "-H", "Transfer-Encoding: chunked", "--data-binary", "@" + file] + expect,
                    http2: http2)
                #expect(answer.status == 200)
                #expect(answer.echo["bodyLength"] as? Int == 5 << 20)
                #expect(answer.echo["bodySHA256"] as? String == digest)
                #expect(answer.echo["chunked"] as? Bool == true)
                #expect(answer.echoed["content-length"] == nil)
            }
        }
    }

    /// Request smuggling through a proxy rule: a chunk whose data spells a request is body (the
    /// upstream receives it as such), the request after the body's end is the next one, and a
    /// Content-Length beside Transfer-Encoding is refused before the upstream is contacted.
    @Test func noRequestIsSmuggledPastAProxyRule() async throws {
        let upstream = try ProxyUpstream()
        try await withProxySite(EdgeProxyTests.rule(upstream)) { f in
            let hidden = "GET /api/smuggled HTTP/1.1\r\nHost: site.test\r\n\r\n"
            let c = try f.client()
            try c.send(
                "POST /api/first HTTP/1.1\r\nHost: site.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + String(hidden.utf8.count, radix: 16) + "\r\n" + hidden + "\r\n0\r\n\r\n"
                    + RawHTTPClient.format("GET", "/api/second"))
            let first = try c.read()
            #expect(first.status == 200)
            let echo = try JSONSerialization.jsonObject(with: Data(first.body)) as? [String: Any]
            #expect(echo?["path"] as? String == "/v1/first")
            #expect(echo?["bodyLength"] as? Int == hidden.utf8.count)
            let second = try c.read()
            let next = try JSONSerialization.jsonObject(with: Data(second.body)) as? [String: Any]
            #expect(next?["path"] as? String == "/v1/second")

            let before = try upstream.connections()
            let smuggler = try f.client()
            try smuggler.send(
                "POST /api/x HTTP/1.1\r\nHost: site.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "0\r\n\r\n" + hidden)
            #expect(try smuggler.read().status == 400)
            #expect(try smuggler.isClosedByPeer())
            // (`connections()` counts its own earlier call: one more, and no connection of the smuggler's.)
            #expect(try upstream.connections() == before + 1)
        }
    }

    /// A malformed chunk in a proxied body: the exchange stops, the client gets 400 and the
    /// connection closes (what follows the bad chunk is never read as a request).
    @Test func aMalformedChunkInAProxiedBodyIs400() async throws {
        let upstream = try ProxyUpstream()
        try await withProxySite(EdgeProxyTests.rule(upstream)) { f in
            let c = try f.client()
            try c.send(
                "POST /api/x HTTP/1.1\r\nHost: site.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n"
                    + RawHTTPClient.format("GET", "/api/after"))
            let answer = try c.read()
            #expect(answer.status == 400)
            #expect(answer.header("connection") == "close")
            #expect(try c.isClosedByPeer())
        }
    }
}
