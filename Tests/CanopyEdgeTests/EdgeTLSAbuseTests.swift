import CanopyEdge
import CanopyTLS
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The TLS listener under hostile clients (issue #11, "Bad input and faults"): garbage instead of a
/// ClientHello, handshakes that stall, and hundreds of them at once must cost each only its own
/// connection, held to the head timeout, while a real client keeps being served.
@Suite struct EdgeTLSAbuseTests {
    /// An edge with a TLS listener for site.test (a self-signed certificate made by openssl).
    func withTLSSite(headTimeout: Duration, _ body: (EdgeFixture, Int) async throws -> Void) async throws {
        let fixture = try EdgeFixture(headTimeout: headTimeout) {
            $0.tlsHost = "127.0.0.1"
            $0.tlsPort = 0
        }
        let key = fixture.root + "/key.pem"
        let certificate = fixture.root + "/cert.pem"
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out",
            certificate, "-subj", "/CN=site.test", "-days", "2", "-addext", "subjectAltName=DNS:site.test",
        ]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        let bundle = try CertificateBundle(
            chainPEM: try String(contentsOfFile: certificate, encoding: .utf8),
            keyPEM: try String(contentsOfFile: key, encoding: .utf8))
        let deployment = try fixture.deploy("d1", siteFiles)
        try await fixture.start([
            HostRoute(
                hostname: "site.test", site: "site", environment: "main",
                targets: [RouteTarget(label: "main", weight: 1, deployment: deployment)])
        ])
        fixture.server.update(certificates: TLSContexts.makeSet(["site.test": bundle]).0)
        let tlsPort = try await fixture.server.startTLS()
        do {
            try await body(fixture, tlsPort)
        } catch {
            try await fixture.server.shutdown()
            throw error
        }
        try await fixture.server.shutdown()
    }

    /// One HTTPS request with curl: the status, or what went wrong.
    func curl(_ port: Int) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = [
            "-sk", "--max-time", "10", "--resolve", "site.test:\(port):127.0.0.1", "-o", "/dev/null", "-w",
            "%{http_code}", "https://site.test:\(port)/",
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "curl did not start" }
        process.waitUntilExit()
        return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    /// Reads until the peer closes (true) or the socket's receive timeout passes (false).
    func closedByPeer(_ fd: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    /// Whether the peer has closed the socket (EOF or reset), without waiting.
    func isClosed(_ fd: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if n > 0 { continue }
            return n == 0 || errno == ECONNRESET
        }
    }

    @Test func garbageInsteadOfAClientHelloIsClosedAndOthersAreServed() async throws {
        try await withTLSSite(headTimeout: .seconds(30)) { _, port in
            let fd = try connectToLoopback(port: port, receiveTimeout: 10)
            defer { close(fd) }
            let junk = (0..<4096).map { _ in UInt8.random(in: 0...255) }
            _ = junk.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            #expect(closedByPeer(fd), "a connection that sent garbage is still open after 10 s")
            #expect(curl(port) == "200")
        }
    }

    @Test func stalledHandshakesAreHeldToTheHeadTimeoutAndDoNotStopOthers() async throws {
        try await withTLSSite(headTimeout: .seconds(1)) { _, port in
            // 200 connections: half send nothing, half the first bytes of a TLS record and stop.
            var stalled: [Int32] = []
            defer { stalled.forEach { close($0) } }
            for index in 0..<200 {
                let fd = try connectToLoopback(port: port, receiveTimeout: 15)
                if index % 2 == 1 {
                    let partial: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]
                    _ = partial.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                }
                stalled.append(fd)
            }
            // A real client is served meanwhile.
            #expect(curl(port) == "200")
            // Each stalled handshake is closed by the server (without the head timeout they stay open).
            // Polled with a blocking pause: under the whole suite a task that gives up its thread may
            // not get one back before the deadline (the edge's own threads are not the pool's).
            var open = Set(stalled)
            let deadline = ContinuousClock.now + .seconds(20)
            repeat {
                open = open.filter { !isClosed($0) }
                if !open.isEmpty { usleep(100_000) }
            } while !open.isEmpty && ContinuousClock.now < deadline
            #expect(open.isEmpty, "\(open.count) of \(stalled.count) stalled handshakes are still open after 20 s")
            #expect(curl(port) == "200")
        }
    }
}
