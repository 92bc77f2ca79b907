import CanopyEdge
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A client that pipelines requests and does not read its responses (issue #15, item 3): the edge
/// must stop reading it once its unsent output is over the bound, answer what it holds once the
/// client reads again, and disconnect it when it reads nothing for the send timeout.
@Suite struct EdgeBackPressureTests {
    static let request = Array(RawHTTPClient.format("GET", "/big.txt").utf8)

    @Test func aClientThatDoesNotReadIsNotAnsweredWithoutLimit() async throws {
        try await withEdge { fixture in try await notAnsweredWithoutLimit(fixture) }
    }

    func notAnsweredWithoutLimit(_ fixture: EdgeFixture) async throws {
        let client = try FloodClient(port: fixture.port)
        // Without back-pressure the edge reads every request and keeps answering into memory, as
        // fast as it can (the client is only held up while the edge is busy). With it, what is
        // answered stops at the write buffer's high water mark plus the kernel's socket buffers
        // (~3,000 responses of 1.4 KB here) and stays there however long the client goes on.
        _ = client.floodUntilStalled(Self.request)
        let answeredEarly = fixture.server.stats(deployment: "d1").requests
        let late = client.flood(Self.request, for: .seconds(2))
        try await Task.sleep(for: .milliseconds(200))
        let answered = fixture.server.stats(deployment: "d1").requests
        let sent = late.requests
        #expect(late.stalled, "the client could send \(sent) requests without reading a byte")
        #expect(
            answered - answeredEarly < 200 && answered < 20_000,
            "answered \(answeredEarly), then \(answered) requests to a client that reads nothing")

        // Once the client reads, the requests held back are answered, in order, every one.
        let first = try client.readResponse()
        #expect(first.starts(with: "HTTP/1.1 200 OK\r\n".utf8))
        let rest = try client.readExactly(first.count * (sent - 1))
        #expect(rest.suffix(bigText.utf8.count).elementsEqual(bigText.utf8))
        #expect(fixture.server.stats(deployment: "d1").requests == sent)
    }

    @Test func aClientThatReadsNothingIsDisconnectedAfterTheSendTimeout() async throws {
        try await withEdge({ $0.sendTimeout = .seconds(1) }) { fixture in
            let client = try FloodClient(port: fixture.port)
            _ = client.floodUntilStalled(Self.request)
            let start = ContinuousClock.now
            var reset = false
            while !reset && ContinuousClock.now - start < .seconds(20) {
                reset = client.isReset()
                try await Task.sleep(for: .milliseconds(100))
            }
            // Without a send timeout the connection would live on (its idle timeout is 75 s).
            #expect(reset, "a client that read nothing for 20 s is still connected (send timeout 1 s)")
        }
    }

    /// An edge serving `siteFiles` at site.test as deployment d1.
    func withEdge(
        _ configure: (inout EdgeConfiguration) -> Void = { _ in }, _ body: (EdgeFixture) async throws -> Void
    ) async throws {
        let fixture = try EdgeFixture(configure: configure)
        let deployment = try fixture.deploy("d1", siteFiles)
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
}

/// A raw socket that writes without reading (a small receive buffer, so the server's output backs
/// up quickly), then reads on demand.
final class FloodClient {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var size: Int32 = 16 << 10
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        size = 64 << 10
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if result != 0 {
            close(fd)
            throw RawHTTPError.connect(errno)
        }
    }

    deinit { close(fd) }

    /// Bytes sent by `flood` so far.
    private var sentBytes = 0

    /// Sends copies of `request` for `duration`, as fast as the socket takes them (continuing where
    /// the last call stopped): how many went out in all (a last one may be incomplete, and is not
    /// counted), and whether the socket took nothing in the last second (the server stopped reading).
    func flood(_ request: [UInt8], for duration: Duration) -> (requests: Int, stalled: Bool) {
        let batch = Array([[UInt8]](repeating: request, count: 500).joined())
        let deadline = ContinuousClock.now + duration
        var lastProgress = ContinuousClock.now
        while ContinuousClock.now < deadline {
            let offset = sentBytes % batch.count
            let n = batch[offset...].withUnsafeBytes {
                send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            }
            if n > 0 {
                sentBytes += n
                lastProgress = ContinuousClock.now
                continue
            }
            guard errno == EAGAIN || errno == EWOULDBLOCK else { break }  // reset by the server
            var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&poller, 1, 100)
        }
        return (sentBytes / request.count, ContinuousClock.now - lastProgress > .seconds(1))
    }

    /// Floods until the server stops taking requests (at most 30 s: on a loaded machine the edge
    /// may take a while to fill its output).
    func floodUntilStalled(_ request: [UInt8]) -> (requests: Int, stalled: Bool) {
        var result = (requests: 0, stalled: false)
        for _ in 0..<20 where !result.stalled { result = flood(request, for: .milliseconds(1500)) }
        return result
    }

    /// Blocking send of every byte.
    func sendAll(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { throw RawHTTPError.closed }
            offset += n
        }
    }

    /// The server reset the connection (or closed it).
    func isReset() -> Bool {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&poller, 1, 0)
        return poller.revents & Int16(POLLERR | POLLHUP) != 0
    }

    /// Reads one response to a GET of a file: its head and Content-Length bytes.
    func readResponse() throws -> [UInt8] {
        var bytes: [UInt8] = []
        while !bytes.suffix(4).elementsEqual("\r\n\r\n".utf8) { bytes += try readExactly(1) }
        let head = String(decoding: bytes, as: UTF8.self).lowercased()
        guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
            let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
        else { throw RawHTTPError.malformed(head) }
        return bytes + (try readExactly(length))
    }

    func readExactly(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let n = bytes[offset...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { throw RawHTTPError.closed }
            offset += n
        }
        return bytes
    }
}
