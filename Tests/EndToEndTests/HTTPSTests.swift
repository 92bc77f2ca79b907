import Foundation
import Testing

/// The TLS listener end to end, with the real binary, curl and openssl: HTTPS over HTTP/1.1 and
/// HTTP/2 by ALPN, SNI, the HTTPS redirect, HSTS, Secure split cookies, and certificate files
/// refused or replaced while serving.
@Suite(.serialized)
struct HTTPSTests {
    static let sitesFile = """
        repository: ../repos/site.git
        tls: { certificate: ../tls/site.pem, key: ../tls/site.key }
        hsts: { maxAge: 180d, includeSubDomains: true }
        branches:
          main: { domains: [site.test] }
          release: { domains: [release.site.test], https: allow }
          plain: { domains: [plain.site.test], tls: off }
        """

    /// curl against the TLS listener, with the test CA, `host` resolved to loopback.
    struct Client {
        let ca: String
        let port: Int

        /// Headers and body (`-D -`), or what `extra` asks for.
        func curl(_ host: String, _ path: String = "/", _ extra: [String] = []) throws -> String {
            try sh(
                [
                    "curl", "-sS", "--max-time", "20", "--cacert", ca, "--resolve", "\(host):\(port):127.0.0.1", "-D",
                    "-",
                    "https://\(host):\(port)\(path)",
                ] + extra)
        }
    }

    /// Python's TLS client: one full handshake (reading a response, so that TLS 1.3 tickets arrive),
    /// then five offering its session; prints how many were resumed.
    static let resumption = """
        import socket, ssl, sys
        port, version = int(sys.argv[1]), getattr(ssl.TLSVersion, sys.argv[2])
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        ctx.minimum_version = ctx.maximum_version = version
        def connect(session=None):
            raw = socket.create_connection(("127.0.0.1", port))
            return ctx.wrap_socket(raw, server_hostname="site.test", session=session)
        s = connect()
        s.sendall(b"GET / HTTP/1.1\\r\\nHost: site.test\\r\\nConnection: close\\r\\n\\r\\n")
        while s.recv(65536): pass
        session = s.session
        s.close()
        print(sum(connect(session).session_reused for _ in range(5)))
        """

    @Test func httpsWithSNIRedirectHSTSAndCertificateReloads() async throws {
        let canopy = try CanopyInstance("https")
        let pki = try TestPKI(in: canopy.root + "/tls")
        let first = try pki.leaf("site", names: ["site.test", "release.site.test", "plain.site.test"])
        let repo = try SiteRepository(in: canopy)
        try canopy.writeSite("site", Self.sitesFile)
        try await canopy.start(extraArguments: [
            "--listen-tls", "127.0.0.1:0", "--access-log", canopy.root + "/access.log",
        ])
        let tlsAddress = try String(contentsOfFile: canopy.data + "/edge-tls.address", encoding: .utf8)
        let port = Int(tlsAddress.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ":").last!)!
        let client = Client(ca: pki.caCertificate, port: port)
        try repo.commit("main")
        try repo.push("main")
        for branch in ["release", "plain"] {
            try repo.checkout(branch, create: true)
            try repo.commit(branch)
            try repo.push(branch)
            try repo.checkout("main")
        }
        try await canopy.waitForContent("release.site.test", "<em id=\"branch\">release</em>")
        try await canopy.waitForContent("plain.site.test", "<em id=\"branch\">plain</em>")

        // HTTPS over HTTP/1.1 and HTTP/2 (ALPN), verified against the test CA, with HSTS.
        let h1 = try client.curl("site.test", "/", ["--http1.1", "-w", "\nversion=%{http_version}"])
        #expect(h1.contains("<em id=\"branch\">main</em>"))
        #expect(h1.contains("version=1.1"))
        #expect(h1.lowercased().contains("strict-transport-security: max-age=15552000; includesubdomains"))
        let h2 = try client.curl("site.test", "/about", ["--http2", "-w", "\nversion=%{http_version}"])
        #expect(h2.contains("version=2"))
        #expect(h2.hasPrefix("HTTP/2 200"))
        #expect(h2.lowercased().contains("strict-transport-security: max-age=15552000"))

        // Returning visitors resume their session (tickets in TLS 1.3, sessions in 1.2); TLS 1.1 is refused.
        for version in ["TLSv1_3", "TLSv1_2"] {
            let resumed = try sh(["python3", "-c", Self.resumption, String(port), version])
            #expect(resumed.trimmingCharacters(in: .whitespacesAndNewlines) == "5", "\(version): \(resumed)")
        }
        let old = try sh(
            [
                "bash", "-c",
                "openssl s_client -connect 127.0.0.1:\(port) -servername site.test -tls1_1 </dev/null 2>&1",
            ],
            allowFailure: true)
        #expect(old.contains("alert protocol version"), "openssl said: \(old)")

        // Cleartext: 308 to the same URL on HTTPS, without HSTS; ACME challenges are not redirected.
        let redirect = try canopy.get("site.test", "/about?x=1")
        #expect(redirect.status == 308)
        #expect(redirect.header("Location") == "https://site.test:\(port)/about?x=1")
        #expect(redirect.header("Strict-Transport-Security") == nil)
        #expect(try canopy.get("site.test", "/.well-known/acme-challenge/nothing-pending").status == 404)
        // `https: allow` and `tls: off` keep serving cleartext.
        #expect(try canopy.get("release.site.test").status == 200)
        #expect(try canopy.get("plain.site.test").status == 200)

        // An SNI name Canopy does not serve (or one with tls: off) is refused with unrecognized_name.
        for name in ["unknown.test", "plain.site.test"] {
            let refused = try sh(
                [
                    "curl", "-sS", "--max-time", "20", "--cacert", pki.caCertificate, "--resolve",
                    "\(name):\(port):127.0.0.1", "https://\(name):\(port)/",
                ], allowFailure: true)
            #expect(refused.contains("SSL") || refused.contains("alert"), "curl said: \(refused)")
            let openssl = try sh(
                ["bash", "-c", "openssl s_client -connect 127.0.0.1:\(port) -servername \(name) </dev/null 2>&1"],
                allowFailure: true)
            #expect(openssl.contains("unrecognized name"), "openssl said: \(openssl)")
            #expect(!openssl.contains("BEGIN CERTIFICATE"))
        }

        // A split's sticky cookie is Secure over HTTPS only.
        _ = try canopy.cli(["split", "release.site.test", "main=50", "release=50"])
        let secureCookie = try client.curl("release.site.test", "/", ["-o", "/dev/null"])
        #expect(secureCookie.lowercased().contains("set-cookie: canopy-split="))
        #expect(secureCookie.contains("HttpOnly; Secure"))
        let plainCookie = try canopy.get("release.site.test").header("Set-Cookie") ?? ""
        #expect(plainCookie.contains("canopy-split=") && !plainCookie.contains("Secure"))

        // The protocol of each request: the access log's last field, and /metrics.
        try await waitUntil("the access log's https line") {
            let log = (try? String(contentsOfFile: canopy.root + "/access.log", encoding: .utf8)) ?? ""
            return log.split(separator: "\n").contains { $0.contains("HTTP/2.0\" 200") && $0.hasSuffix(" https") }
        }
        let metrics = try canopy.admin("/metrics").text
        func served(_ labels: String) -> Int {
            let line = metrics.split(separator: "\n").first {
                $0.hasPrefix("canopy_http_requests_by_protocol_total{\(labels)}")
            }
            return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? -1
        }
        #expect(served("protocol=\"h2\",tls=\"true\"") >= 1)
        #expect(served("protocol=\"http/1.1\",tls=\"true\"") >= 1)
        #expect(served("protocol=\"http/1.1\",tls=\"false\"") >= 1)

        // canopy certs lists each hostname's certificate.
        let table = try canopy.cli(["certs"])
        #expect(table.contains("site.test") && table.contains("valid") && table.contains("Canopy E2E CA"))
        let originalSerial = try TestPKI.serial(of: first.certificate)
        #expect(try TestPKI.servedSerial(port: port, serverName: "site.test") == originalSerial)

        // A key that does not match is refused with the file and the reason; the old certificate keeps serving.
        let other = try pki.leaf("other", names: ["site.test"])
        try FileManager.default.removeItem(atPath: first.key)
        try FileManager.default.copyItem(atPath: other.key, toPath: first.key)
        try await waitUntil("canopy certs to report the refused certificate") {
            let json = try canopy.cli(["certs", "--json"])
            let list = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]] ?? []
            let site = list.first { $0["hostname"] as? String == "site.test" } ?? [:]
            let reason = site["reason"] as? String ?? ""
            return site["state"] as? String == "failed" && site["serving"] as? Bool == true
                && reason.contains("does not match the private key") && reason.contains(first.certificate)
        }
        #expect(canopy.serverLog.contains("certificate refused: \(first.certificate)"))
        #expect(try TestPKI.servedSerial(port: port, serverName: "site.test") == originalSerial)
        #expect(try client.curl("site.test").contains("<em id=\"branch\">main</em>"))

        // A new certificate in the same files is picked up without a restart.
        try FileManager.default.removeItem(atPath: first.certificate)
        try FileManager.default.copyItem(atPath: other.certificate, toPath: first.certificate)
        let newSerial = try TestPKI.serial(of: other.certificate)
        try await waitUntil("the new certificate to be served") {
            try TestPKI.servedSerial(port: port, serverName: "site.test") == newSerial
        }
        #expect(try client.curl("site.test").contains("<em id=\"branch\">main</em>"))
        // It names site.test only: release.site.test has no certificate now, and is refused.
        try await waitUntil("release.site.test to lose its certificate") {
            try TestPKI.servedSerial(port: port, serverName: "release.site.test") == nil
        }
        #expect(try await canopy.stop() == 0)
    }
}
