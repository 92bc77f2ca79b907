import CanopyEdge
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Hostile HTTP/2 clients, hand-built frame by frame over a real socket (security issue #15, item 1):
/// a connection error must close the connection, floods must be cut off, and an h2c connection is
/// held to the same idle, head and back-pressure limits as an HTTP/1.1 one.
@Suite struct EdgeHTTP2AbuseTests {
    @Test func aConnectionErrorClosesTheConnection() async throws {
        try await withSite { f in
            let c = try H2RawConnection(port: f.port)
            try c.send(H2RawConnection.preface + H2Frame.settings())
            // DATA on stream 0 is a connection error (RFC 9113 §6.1).
            try c.send(H2Frame(type: 0, flags: 0, stream: 0, payload: Array("junk".utf8)).bytes)
            let frames = try c.readUntilClosed()
            let goAway = try #require(frames.last { $0.type == 7 })
            #expect(goAway.errorCode == 1)  // PROTOCOL_ERROR
            // What follows is not buffered: the socket is gone (this used to grow to 4 GB and crash).
            #expect(c.sendJunkFails(megabytes: 64))
            // The server still serves others.
            #expect(try f.client().request("GET", "/logo.png").text == "PNGDATA")
        }
    }

    @Test func aPingFloodIsCutOff() async throws {
        try await withSite { f in
            let c = try H2RawConnection(port: f.port)
            try c.send(H2RawConnection.preface + H2Frame.settings())
            let ping = H2Frame(type: 6, flags: 0, stream: 0, payload: [UInt8](repeating: 7, count: 8)).bytes
            try c.send(Array([[UInt8]](repeating: ping, count: 2_000).joined()))
            let frames = try c.readUntilClosed()
            #expect(frames.contains { $0.type == 7 && $0.errorCode == 11 })  // GOAWAY ENHANCE_YOUR_CALM
        }
    }

    @Test func aSettingsFloodIsCutOff() async throws {
        try await withSite { f in
            let c = try H2RawConnection(port: f.port)
            try c.send(H2RawConnection.preface)
            try c.send(Array([[UInt8]](repeating: H2Frame.settings(), count: 2_000).joined()))
            let frames = try c.readUntilClosed()
            #expect(frames.contains { $0.type == 7 })
        }
    }

    @Test func rapidResetClosesTheConnection() async throws {
        try await withSite { f in
            let c = try H2RawConnection(port: f.port)
            try c.send(H2RawConnection.preface + H2Frame.settings())
            var burst: [UInt8] = []
            for n in 0..<1_000 {
                let stream = UInt32(2 * n + 1)
                burst += H2Frame.get(stream: stream, endStream: false).bytes
                burst += H2Frame(type: 3, flags: 0, stream: stream, payload: [0, 0, 0, 8]).bytes  // RST CANCEL
            }
            try c.send(burst)
            let frames = try c.readUntilClosed()
            #expect(frames.contains { $0.type == 7 })
        }
    }

    /// The rapid-reset pattern without the client's RST_STREAM: streams the server must reset
    /// itself (here malformed requests, an uppercase field name) count toward the same bound.
    @Test func manyMalformedRequestsCloseTheConnection() async throws {
        try await withSite { f in
            let c = try H2RawConnection(port: f.port)
            try c.send(H2RawConnection.preface + H2Frame.settings())
            var burst: [UInt8] = []
            for n in 0..<300 {
                var frame = H2Frame.get(stream: UInt32(2 * n + 1), endStream: true)
                frame.payload += [0x00, 1, 0x58, 1, 0x31]  // literal field "X: 1" (uppercase name)
                burst += frame.bytes
            }
            try c.send(burst)
            let frames = try c.readUntilClosed()
            #expect(frames.contains { $0.type == 7 && $0.errorCode == 11 })  // GOAWAY ENHANCE_YOUR_CALM
            #expect(frames.filter { $0.type == 3 }.count <= 201)
        }
    }

    @Test func endlessContinuationFramesAreCutOff() async throws {
        try await withSite { f in
            let c = try H2RawConnection(port: f.port)
            try c.send(H2RawConnection.preface + H2Frame.settings())
            var burst = H2Frame(type: 1, flags: 0, stream: 1, payload: [0x82]).bytes  // HEADERS, no END_HEADERS
            let continuation = H2Frame(type: 9, flags: 0, stream: 1, payload: [UInt8](repeating: 0x86, count: 16))
            for _ in 0..<20_000 { burst += continuation.bytes }
            _ = try? c.send(burst)  // the server may close before it has read everything
            let frames = try c.readUntilClosed()
            #expect(frames.contains { $0.type == 7 })
        }
    }

    @Test func idleH2cConnectionsClose() async throws {
        let fixture = try EdgeFixture(idleTimeout: .seconds(1))
        try await fixture.startSimpleSite()
        let c = try H2RawConnection(port: fixture.port)
        try c.send(H2RawConnection.preface + H2Frame.settings())
        let started = Date()
        _ = try c.readUntilClosed()
        let waited = Date().timeIntervalSince(started)
        #expect(waited >= 0.9 && waited < 5)
        try await fixture.server.shutdown()
    }

    @Test func aStreamWhoseRequestNeverEndsIsReset() async throws {
        let fixture = try EdgeFixture(headTimeout: .seconds(1))
        try await fixture.startSimpleSite()
        let c = try H2RawConnection(port: fixture.port)
        try c.send(H2RawConnection.preface + H2Frame.settings() + H2Frame.get(stream: 1, endStream: false).bytes)
        let reset = try c.readUntil { $0.type == 3 && $0.stream == 1 }
        #expect(reset != nil)
        try await fixture.server.shutdown()
    }

    /// Requests sent without reading the answers: the server stops reading once its unsent output
    /// is over the bound, so the client's own sends stall instead of the server's memory growing.
    @Test func aClientThatDoesNotReadIsNotAnsweredWithoutBound() async throws {
        try await withSite { f in
            let c = try H2RawConnection(port: f.port, sendTimeout: 2)
            try c.send(H2RawConnection.preface + H2Frame.settings())
            var sent = 0
            var stream: UInt32 = 1
            var stalled = false
            while sent < 64 << 20 {
                var batch: [UInt8] = []
                for _ in 0..<1_000 {
                    batch += H2Frame.get(stream: stream, endStream: true, method: "HEAD").bytes
                    stream += 2
                }
                do {
                    try c.send(batch)
                } catch {
                    stalled = true
                    break
                }
                sent += batch.count
            }
            #expect(stalled, "sent \(sent) bytes of requests without the server pushing back")
        }
    }
}

extension EdgeFixture {
    /// One deployment with an index page at site.test.
    func startSimpleSite() async throws {
        let deployment = try deploy("d1", ["index.html": "home"])
        try await start([
            HostRoute(
                hostname: "site.test", site: "site", environment: "main",
                targets: [RouteTarget(label: "main", weight: 1, deployment: deployment)])
        ])
    }
}

/// One HTTP/2 frame (RFC 9113 §4.1).
struct H2Frame {
    var type: UInt8
    var flags: UInt8
    var stream: UInt32
    var payload: [UInt8]

    var bytes: [UInt8] {
        let n = payload.count
        return [UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF), type, flags]
            + withUnsafeBytes(of: stream.bigEndian, Array.init) + payload
    }

    /// A GOAWAY's or RST_STREAM's error code.
    var errorCode: UInt32? {
        let offset = type == 7 ? 4 : type == 3 ? 0 : -1
        guard offset >= 0, payload.count >= offset + 4 else { return nil }
        return payload[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    static func settings() -> [UInt8] { H2Frame(type: 4, flags: 0, stream: 0, payload: []).bytes }

    /// A request for `/` at site.test, HPACK-encoded without Huffman or dynamic-table entries.
    static func get(stream: UInt32, endStream: Bool, method: String = "GET") -> H2Frame {
        var block: [UInt8] = method == "GET" ? [0x82] : [0x02, UInt8(method.utf8.count)] + Array(method.utf8)
        block += [0x86, 0x84, 0x01, 9] + Array("site.test".utf8)  // :scheme http, :path /, :authority
        return H2Frame(type: 1, flags: 0x4 | (endStream ? 0x1 : 0), stream: stream, payload: block)
    }
}

/// A blocking socket speaking raw HTTP/2 frames.
final class H2RawConnection {
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    private let fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int, receiveTimeout: Int = 10, sendTimeout: Int = 10) throws {
        fd = try connectToLoopback(port: port, receiveTimeout: receiveTimeout, sendTimeout: sendTimeout)
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { throw RawHTTPError.closed }
            sent += n
        }
    }

    /// True when writing `megabytes` of junk fails (the peer has closed the connection).
    func sendJunkFails(megabytes: Int) -> Bool {
        let chunk = [UInt8](repeating: 0xFF, count: 1 << 20)
        for _ in 0..<megabytes {
            do { try send(chunk) } catch { return true }
        }
        return false
    }

    /// Reads frames until the server closes the connection; throws if it is still open at the
    /// receive timeout.
    func readUntilClosed() throws -> [H2Frame] {
        var frames: [H2Frame] = []
        while true {
            while let frame = nextFrame() { frames.append(frame) }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 || (n < 0 && errno == ECONNRESET) { return frames }
            if n < 0 { throw RawHTTPError.malformed("the connection is still open (errno \(errno))") }
            buffer += chunk[0..<n]
        }
    }

    /// Reads frames until one matches; nil if the connection closes first.
    func readUntil(_ match: (H2Frame) -> Bool) throws -> H2Frame? {
        while true {
            while let frame = nextFrame() {
                if match(frame) { return frame }
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return nil }
            if n < 0 { throw RawHTTPError.malformed("no such frame before the timeout (errno \(errno))") }
            buffer += chunk[0..<n]
        }
    }

    private func nextFrame() -> H2Frame? {
        guard buffer.count >= 9 else { return nil }
        let length = Int(buffer[0]) << 16 | Int(buffer[1]) << 8 | Int(buffer[2])
        guard buffer.count >= 9 + length else { return nil }
        let stream = buffer[5..<9].reduce(UInt32(0)) { $0 << 8 | UInt32($1) } & 0x7FFF_FFFF
        let frame = H2Frame(type: buffer[3], flags: buffer[4], stream: stream, payload: Array(buffer[9..<9 + length]))
        buffer.removeFirst(9 + length)
        return frame
    }
}
