import CanopyEdge
import Foundation
import NIOCore
import NIOHPACK
import Testing

/// The edge's own HTTP/2 connection (`H2Connection`) frame by frame over a real socket: flow
/// control both ways (RFC 9113 §5.2, §6.9), header blocks in CONTINUATION frames (§6.10), the
/// concurrent-stream limit (§5.1.2) and malformed requests (§8.1.1) reset as stream errors.
@Suite struct EdgeHTTP2FlowTests {
    /// 50 KB from memory and 200 KB from a file (sendfile), to a client whose stream windows are
    /// 1,000 bytes: no DATA frame exceeds a window, and both bodies arrive whole once the client
    /// gives the windows back.
    @Test func smallWindowsAreHonouredAndBodiesArriveWhole() async throws {
        let middle = String(repeating: "m", count: 50_000)
        let large = String((0..<200_000).map { Character(UnicodeScalar(UInt8(97 + $0 % 26))) })
        try await withFiles(["mid.txt": middle, "big.txt": large]) { port in
            let c = try H2RawConnection(port: port)
            // SETTINGS_INITIAL_WINDOW_SIZE = 1000.
            try c.send(
                H2RawConnection.preface + H2Frame(type: 4, flags: 0, stream: 0, payload: [0, 4, 0, 0, 3, 0xE8]).bytes)
            try c.send(
                H2Frame.request(stream: 1, path: "/mid.txt").bytes + H2Frame.request(stream: 3, path: "/big.txt").bytes)
            var windows: [UInt32: Int] = [0: 65_535, 1: 1_000, 3: 1_000]
            var bodies: [UInt32: [UInt8]] = [1: [], 3: []]
            var ended: Set<UInt32> = []
            while ended.count < 2 {
                let frame = try #require(try c.readUntil { $0.type == 0 || ($0.type == 1 && $0.flags & 1 != 0) })
                if frame.type == 1 {
                    ended.insert(frame.stream)
                    continue
                }
                windows[0]! -= frame.payload.count
                windows[frame.stream]! -= frame.payload.count
                #expect(windows[0]! >= 0 && windows[frame.stream]! >= 0, "DATA beyond the window")
                bodies[frame.stream]! += frame.payload
                if frame.flags & 1 != 0 { ended.insert(frame.stream) }
                guard !frame.payload.isEmpty else { continue }
                let increment = H2Frame.increment(frame.payload.count)
                try c.send(
                    H2Frame(type: 8, flags: 0, stream: 0, payload: increment).bytes
                        + H2Frame(type: 8, flags: 0, stream: frame.stream, payload: increment).bytes)
                windows[0]! += frame.payload.count
                windows[frame.stream]! += frame.payload.count
            }
            #expect(bodies[1]! == Array(middle.utf8))
            #expect(bodies[3]! == Array(large.utf8))
        }
    }

    /// A 200 KB request body (more than the 64 KiB windows): the edge gives the windows back as
    /// it reads, so the body can be sent whole, and the request is answered when it ends (405).
    @Test func aRequestBodyIsReadAndItsWindowsGivenBack() async throws {
        try await withFiles(["index.html": "home"]) { port in
            let c = try H2RawConnection(port: port)
            try c.send(H2RawConnection.preface + H2Frame.settings())
            try c.send(H2Frame.request(stream: 1, path: "/", method: "POST", endStream: false).bytes)
            var sent = 0
            var window = 65_535
            while sent < 200_000 {
                while window < 16_384 {
                    let update = try #require(try c.readUntil { $0.type == 8 && $0.stream == 0 })
                    window += Int(update.payload.reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
                }
                try c.send(
                    H2Frame(type: 0, flags: 0, stream: 1, payload: [UInt8](repeating: 0x61, count: 16_384)).bytes)
                sent += 16_384
                window -= 16_384
            }
            try c.send(H2Frame(type: 0, flags: 1, stream: 1, payload: []).bytes)
            let answer = try #require(try c.readUntil { $0.type == 1 && $0.stream == 1 })
            #expect(try H2Frame.status(answer) == "405")
        }
    }

    /// A header block split over HEADERS and two CONTINUATION frames is one request.
    @Test func aHeaderBlockInContinuationFramesIsAnswered() async throws {
        try await withFiles(["index.html": "home"]) { port in
            let c = try H2RawConnection(port: port)
            try c.send(H2RawConnection.preface + H2Frame.settings())
            let block = H2Frame.request(stream: 1, path: "/").payload
            try c.send(
                H2Frame(type: 1, flags: 1, stream: 1, payload: Array(block[0..<2])).bytes
                    + H2Frame(type: 9, flags: 0, stream: 1, payload: Array(block[2..<5])).bytes
                    + H2Frame(type: 9, flags: 4, stream: 1, payload: Array(block[5...])).bytes)
            let answer = try #require(try c.readUntil { $0.type == 1 && $0.stream == 1 })
            #expect(try H2Frame.status(answer) == "200")
            let data = try #require(try c.readUntil { $0.type == 0 && $0.stream == 1 })
            #expect(data.payload == Array("home".utf8))
        }
    }

    /// 100 streams may be open at once; the 101st is refused, and the others still get answers.
    @Test func theHundredAndFirstOpenStreamIsRefused() async throws {
        try await withFiles(["index.html": "home"]) { port in
            let c = try H2RawConnection(port: port)
            try c.send(H2RawConnection.preface + H2Frame.settings())
            var burst: [UInt8] = []
            for n in 0..<101 { burst += H2Frame.request(stream: UInt32(2 * n + 1), path: "/", endStream: false).bytes }
            try c.send(burst)
            let refused = try #require(try c.readUntil { $0.type == 3 })
            #expect(refused.stream == 201 && refused.errorCode == 7)  // REFUSED_STREAM
            try c.send(H2Frame(type: 0, flags: 1, stream: 1, payload: []).bytes)
            let answer = try #require(try c.readUntil { $0.type == 1 && $0.stream == 1 })
            #expect(try H2Frame.status(answer) == "200")
        }
    }

    /// Malformed requests (an uppercase field name, no :path, a connection-specific field) reset
    /// their stream with PROTOCOL_ERROR; the connection goes on serving.
    @Test func malformedRequestsResetTheirStreamOnly() async throws {
        try await withFiles(["index.html": "home"]) { port in
            let c = try H2RawConnection(port: port)
            try c.send(H2RawConnection.preface + H2Frame.settings())
            let uppercase = H2Frame.request(stream: 1, path: "/", extra: [("X-Upper", "1")])
            var noPath = H2Frame.request(stream: 3, path: "/")
            noPath.payload = [0x82, 0x86, 0x01, 9] + Array("site.test".utf8)
            let connection = H2Frame.request(stream: 5, path: "/", extra: [("connection", "close")])
            try c.send(uppercase.bytes + noPath.bytes + connection.bytes)
            for stream: UInt32 in [1, 3, 5] {
                let reset = try #require(try c.readUntil { $0.type == 3 && $0.stream == stream })
                #expect(reset.errorCode == 1)
            }
            try c.send(H2Frame.request(stream: 7, path: "/").bytes)
            let answer = try #require(try c.readUntil { $0.type == 1 && $0.stream == 7 })
            #expect(try H2Frame.status(answer) == "200")
        }
    }

    func withFiles(_ files: [String: String], _ body: (Int) async throws -> Void) async throws {
        let fixture = try EdgeFixture()
        let deployment = try fixture.deploy("d1", files)
        try await fixture.start([
            HostRoute(
                hostname: "site.test", site: "site", environment: "main",
                targets: [RouteTarget(label: "main", weight: 1, deployment: deployment)])
        ])
        do {
            try await body(fixture.port)
        } catch {
            try await fixture.server.shutdown()
            throw error
        }
        try await fixture.server.shutdown()
    }
}

extension H2Frame {
    /// A request at site.test, HPACK-encoded with literals only (RFC 7541 §6.2.2).
    static func request(
        stream: UInt32, path: String, method: String = "GET", endStream: Bool = true, extra: [(String, String)] = []
    ) -> H2Frame {
        func literal(_ bytes: String) -> [UInt8] { [UInt8(bytes.utf8.count)] + Array(bytes.utf8) }
        var block: [UInt8] = [0x02] + literal(method) + [0x86, 0x04] + literal(path) + [0x01] + literal("site.test")
        for (name, value) in extra { block += [0x00] + literal(name) + literal(value) }
        return H2Frame(type: 1, flags: 0x4 | (endStream ? 0x1 : 0), stream: stream, payload: block)
    }

    static func increment(_ count: Int) -> [UInt8] {
        withUnsafeBytes(of: UInt32(count).bigEndian, Array.init)
    }

    /// The `:status` of a HEADERS frame (the edge's blocks use no dynamic table).
    static func status(_ frame: H2Frame) throws -> String? {
        var decoder = HPACKDecoder(allocator: ByteBufferAllocator())
        var block = ByteBuffer(bytes: frame.payload)
        return try decoder.decodeHeaders(from: &block)[":status"].first
    }
}
