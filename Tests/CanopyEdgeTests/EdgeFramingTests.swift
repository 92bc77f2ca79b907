import CanopyEdge
import Foundation
import Testing

/// HTTP/1.1 message framing over real sockets: how requests are delimited, what closes a
/// connection, and what a client that sends too much, too little or nonsense gets back.
@Suite struct EdgeFramingTests {
    @Test func pipelinedRequestsSplitAcrossArbitraryWrites() async throws {
        try await withSite { f in
            let c = try f.client()
            let bytes = Array(
                (RawHTTPClient.format("GET", "/logo.png") + RawHTTPClient.format("HEAD", "/big.txt")
                    + RawHTTPClient.format("GET", "/docs/")).utf8)
            var offset = 0
            var sizes = [1, 7, 13]
            while offset < bytes.count {
                let size = min(sizes[0], bytes.count - offset)
                sizes.append(sizes.removeFirst())
                try c.send(String(decoding: bytes[offset..<offset + size], as: UTF8.self))
                offset += size
                // A blocking pause, not Task.sleep: under the whole suite the cooperative threads are
                // held by other tests' blocking clients, and a task that gives its thread up may get
                // none back before the edge's head timeout closes this half-sent request.
                usleep(2000)
            }
            #expect(try c.read().text == "PNGDATA")
            let head = try c.read(head: true)
            #expect(head.status == 200 && head.header("content-length") == "1024")
            #expect(try c.read().text == "<h1>docs</h1>")
        }
    }

    @Test func requestBodiesAreSkippedNotParsedAsRequests() async throws {
        try await withSite { f in
            let c = try f.client()
            // The body says "GET /" but it is a body: the next request is the real one.
            try c.send(
                "GET /logo.png HTTP/1.1\r\nHost: site.test\r\nContent-Length: 9\r\n\r\nGET /x\r\n\r"
                    + RawHTTPClient.format("GET", "/docs/"))
            #expect(try c.read().text == "PNGDATA")
            #expect(try c.read().text == "<h1>docs</h1>")
            // A body that arrives in a later write.
            try c.send("POST /index.html HTTP/1.1\r\nHost: site.test\r\nContent-Length: 11\r\n\r\nhello")
            let post = try c.read()
            #expect(post.status == 405)
            #expect(post.header("allow") == "GET, HEAD, OPTIONS")
            try await Task.sleep(for: .milliseconds(20))
            try c.send(" world" + RawHTTPClient.format("GET", "/logo.png"))
            #expect(try c.read().text == "PNGDATA")
        }
    }

    @Test func http10ClosesUnlessAskedToKeepAlive() async throws {
        try await withSite { f in
            let once = try f.client()
            try once.send("GET /logo.png HTTP/1.0\r\nHost: site.test\r\n\r\n")
            let answer = try once.read()
            #expect(answer.text == "PNGDATA")
            #expect(answer.header("connection") == "close")
            #expect(try once.isClosedByPeer())

            let kept = try f.client()
            try kept.send("GET /logo.png HTTP/1.0\r\nHost: site.test\r\nConnection: keep-alive\r\n\r\n")
            let first = try kept.read()
            #expect(first.header("connection") == "keep-alive")
            try kept.send("GET /docs/ HTTP/1.0\r\nHost: site.test\r\nConnection: keep-alive\r\n\r\n")
            #expect(try kept.read().text == "<h1>docs</h1>")
        }
    }

    @Test func connectionCloseIsAnnouncedAndHonoured() async throws {
        try await withSite { f in
            let c = try f.client()
            let answer = try c.request("GET", "/logo.png", headers: ["Connection": "foo, Close"])
            #expect(answer.text == "PNGDATA")
            #expect(answer.header("connection") == "close")
            #expect(try c.isClosedByPeer())
        }
    }

    @Test(arguments: [
        ("GET / HTTP/1.1\r\nHost site.test\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: site.test\r\n folded: x\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: site.test\r\nHost: other.test\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: site.test\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: site.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
        ("GET / HTTP/1.1\r\nHost: site.test\r\nContent-Length: 1, 2\r\n\r\n", 400),
        ("GET / HTTP/2.0\r\nHost: site.test\r\n\r\n", 505),
        ("GET /\(String(repeating: "a", count: 9000)) HTTP/1.1\r\nHost: site.test\r\n\r\n", 414),
        (
            "GET / HTTP/1.1\r\nHost: site.test\r\n"
                + String(repeating: "X-Big: \(String(repeating: "v", count: 1000))\r\n", count: 20)
                + "\r\n", 431
        ),
    ])
    func refusedRequestsGetAStatusAndTheConnectionCloses(request: String, status: Int) async throws {
        try await withSite { f in
            let c = try f.client()
            // A valid request first: refusing the second must not lose the first answer.
            try c.send(RawHTTPClient.format("GET", "/logo.png") + request)
            #expect(try c.read().text == "PNGDATA")
            let refused = try c.read()
            #expect(refused.status == status)
            #expect(refused.header("connection") == "close")
            #expect(try c.isClosedByPeer())
        }
    }

    @Test func aClientThatLeavesMidRequestHarmsNoOne() async throws {
        try await withSite { f in
            do {
                let quitter = try f.client()
                try quitter.send("GET /logo.png HTTP/1.1\r\nHost: site")
            }  // closed here, half a head sent
            let c = try f.client()
            #expect(try c.request("GET", "/logo.png").text == "PNGDATA")
        }
    }

    @Test func slowHeadsGet408AndIdleConnectionsClose() async throws {
        let fixture = try EdgeFixture(idleTimeout: .milliseconds(1500), headTimeout: .milliseconds(600))
        let deployment = try fixture.deploy("d1", ["index.html": "home"])
        try await fixture.start([
            HostRoute(
                hostname: "site.test", site: "site", environment: "main",
                targets: [RouteTarget(label: "main", weight: 1, deployment: deployment)])
        ])
        let slow = try fixture.client()
        try slow.send("GET / HTTP/1.1\r\nHost: site.te")
        let started = Date()
        let answer = try slow.read()
        #expect(answer.status == 408)
        #expect(Date().timeIntervalSince(started) >= 0.5)
        #expect(try slow.isClosedByPeer())

        // Half an HTTP/2 preface is held to the same deadline.
        let half = try fixture.client()
        try half.send("PRI * HTTP/2.0\r\n")
        #expect(try half.read().status == 408)
        #expect(try half.isClosedByPeer())

        let idle = try fixture.client()
        #expect(try idle.request("GET", "/").text == "home")
        let idleSince = Date()
        #expect(try idle.isClosedByPeer())  // blocks until the server closes the idle connection
        #expect(Date().timeIntervalSince(idleSince) >= 1.4)

        let busy = try fixture.client()  // requests keep a connection open past the idle timeout
        let busySince = Date()
        while Date().timeIntervalSince(busySince) < 2.5 {
            #expect(try busy.request("GET", "/").text == "home")
            // A thread sleep, not Task.sleep: other tests' blocking clients can hold the
            // cooperative pool for longer than the idle timeout.
            usleep(100_000)
        }
        try await fixture.server.shutdown()
    }

    /// Large files go out with sendfile from one open blob per event loop. Concurrent downloads
    /// on several event loops must each get every byte, on connections that stay open.
    @Test func concurrentLargeDownloadsAreComplete() async throws {
        let fixture = try EdgeFixture()
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
        let big = String(
            decoding: (0..<(1 << 20)).map { _ in alphabet.randomElement(using: &generator)! }, as: UTF8.self)
        let deployment = try fixture.deploy("big", ["big.bin": big])
        try await fixture.start([
            HostRoute(
                hostname: "site.test", site: "site", environment: "main",
                targets: [RouteTarget(label: "main", weight: 1, deployment: deployment)])
        ])
        let expected = Array(big.utf8)
        let port = fixture.port
        // Sixteen clients on their own threads, so that they really are concurrent.
        let failures = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    await withCheckedContinuation { (done: CheckedContinuation<Int, Never>) in
                        Thread.detachNewThread {
                            var bad = 0
                            do {
                                let c = try RawHTTPClient(port: port)
                                for _ in 0..<20 {
                                    let answer = try c.request("GET", "/big.bin")
                                    if answer.status != 200 || answer.body != expected { bad += 1 }
                                }
                            } catch {
                                bad += 1  // the connection failed (closed mid-body)
                            }
                            done.resume(returning: bad)
                        }
                    }
                }
            }
            return await group.reduce(0, +)
        }
        #expect(failures == 0)
        try await fixture.server.shutdown()
    }
}
