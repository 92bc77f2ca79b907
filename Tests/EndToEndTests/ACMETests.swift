import Foundation
import Testing

/// ACME end to end: the real `canopy serve` obtains, serves, renews and keeps certificates from a
/// real Pebble (Let's Encrypt's test CA, Debian's `pebble`), which validates over real sockets —
/// HTTP-01 on the cleartext listener, TLS-ALPN-01 on the TLS listener, DNS-01 through a real BIND
/// updated by RFC 2136. One server at a time: CAs and DNS servers starting together on two cores
/// missed their deadlines.
@Suite(
    .serialized,
    .enabled(
        if: ACMEPebble.available && DNSNamed.available, "needs pebble and bind9 (Scripts/test.sh installs them)"))
struct ACMETests {
    /// A Canopy server on fixed ports (Pebble must know them) with ACME pointed at a Pebble.
    struct Setup {
        let canopy: CanopyInstance
        let pebble: ACMEPebble
        let edgePort: Int
        let tlsPort: Int
        let adminPort: Int
        /// Pebble's issuing root (from its management API), for `curl --cacert`.
        let root: String

        /// `httpPortOverride` points Pebble's HTTP-01 validation at another port than the edge's.
        init(
            _ label: String, dnsServer: String? = nil, certificateValidity: Int? = nil, httpPortOverride: Int? = nil
        ) async throws {
            canopy = try CanopyInstance(label)
            edgePort = ACMETestPorts.free()
            tlsPort = ACMETestPorts.free()
            adminPort = ACMETestPorts.free()
            pebble = try await ACMEPebble(
                httpPort: httpPortOverride ?? edgePort, tlsPort: tlsPort, dnsServer: dnsServer,
                certificateValidity: certificateValidity)
            root = canopy.root + "/pebble-root.pem"
            _ = try sh([
                "curl", "-sS", "--max-time", "20", "--cacert", pebble.trustFile, "-o", root,
                "https://localhost:\(pebble.managementPort)/roots/0",
            ])
        }

        /// Starts the server with ACME pointed at this setup's Pebble (or `ca`).
        func start(challenges: String, environment: [String: String] = [:], ca: ACMEPebble? = nil) async throws {
            try await canopy.start(
                extraArguments: [
                    "--listen-tls", "127.0.0.1:\(tlsPort)", "--acme-directory", (ca ?? pebble).directoryURL,
                    "--acme-trust", (ca ?? pebble).trustFile, "--acme-email", "ops@example.test", "--acme-agree-tos",
                    "--acme-challenges",
                    challenges,
                ], ports: (edgePort, adminPort), environment: environment)
        }

        /// Starts the server with the sample site (`sitesFile`) and pushes its `main`.
        func deployMain(challenges: String) async throws {
            let repo = try SiteRepository(in: canopy)
            try canopy.writeSite("site", ACMETests.sitesFile)
            try await start(challenges: challenges)
            try repo.commit("main")
            try repo.push("main")
        }

        /// curl over HTTPS, verified against Pebble's root, `host` resolved to loopback.
        func curl(_ host: String, _ path: String = "/", _ extra: [String] = []) throws -> String {
            try sh(
                [
                    "curl", "-sS", "--max-time", "20", "--cacert", root, "--resolve", "\(host):\(tlsPort):127.0.0.1",
                    "-D", "-", "https://\(host):\(tlsPort)\(path)",
                ] + extra)
        }

        /// Waits until `host` is served over HTTPS with a certificate that verifies, serving `text`.
        func waitForHTTPS(_ host: String, _ text: String, timeout: Duration = .seconds(120)) async throws {
            try await waitUntil(
                "\(host) over HTTPS\n\(canopy.serverLogTail)\n--- pebble ---\n\(pebble.log)", timeout: timeout
            ) {
                let body = (try? curl(host)) ?? ""
                return body.contains(text)
            }
        }

        /// The ACME orders the server logged for `name`.
        func orders(_ name: String) -> Int {
            canopy.serverLog.components(separatedBy: "the certificate for \(name) (").count - 1
        }

        /// `canopy certs --json`'s entry for a hostname.
        func status(_ host: String) throws -> [String: Any] {
            let json = try canopy.cli(["certs", "--json"])
            let list = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]] ?? []
            return list.first { $0["hostname"] as? String == host } ?? [:]
        }

        func stop() async throws {
            _ = try await canopy.stop()
            pebble.stop()
        }
    }

    static let sitesFile = """
        repository: ../repos/site.git
        hsts: 180d
        branches:
          main: { domains: [site.test] }
        """

    /// HTTP-01 through the cleartext listener; the chain verifies against Pebble's root over
    /// HTTP/1.1 and HTTP/2; cleartext gets 308 and HTTPS gets HSTS; a name no Sites file serves
    /// gets no order and no certificate; a restart serves the stored certificate and orders nothing.
    @Test func http01IssuanceRedirectAndRestartWithoutANewOrder() async throws {
        let setup = try await Setup("acme-http01")
        defer { setup.pebble.stop() }
        let canopy = setup.canopy
        try await setup.deployMain(challenges: "http-01")
        try await setup.waitForHTTPS("site.test", "<em id=\"branch\">main</em>")
        #expect(canopy.serverLog.contains("challenges http-01"))

        let h1 = try setup.curl("site.test", "/", ["--http1.1", "-w", "\nversion=%{http_version}"])
        #expect(h1.contains("version=1.1"))
        #expect(h1.lowercased().contains("strict-transport-security: max-age=15552000"))
        let h2 = try setup.curl("site.test", "/about", ["--http2", "-w", "\nversion=%{http_version}"])
        #expect(h2.contains("version=2") && h2.hasPrefix("HTTP/2 200"))
        let redirect = try canopy.get("site.test", "/about?x=1")
        #expect(redirect.status == 308)
        #expect(redirect.header("Location") == "https://site.test:\(setup.tlsPort)/about?x=1")

        let status = try setup.status("site.test")
        #expect(status["source"] as? String == "acme")
        #expect(status["state"] as? String == "valid")
        #expect((status["issuer"] as? String)?.contains("Pebble") == true, "\(status)")
        #expect(status["nextAttempt"] != nil, "the renewal date is shown: \(status)")
        let table = try canopy.cli(["certs"])
        #expect(table.contains("site.test") && table.contains("acme") && table.contains("valid"))
        #expect(setup.orders("site.test") == 1)
        let metrics = try canopy.admin("/metrics").text
        #expect(metrics.contains("canopy_certificate_state{hostname=\"site.test\",state=\"valid\"} 1"))
        #expect(metrics.contains("canopy_certificate_expiry_timestamp_seconds{hostname=\"site.test\",source=\"acme\"}"))
        let dashboard = try canopy.admin("/").text
        #expect(dashboard.contains("data-hostname=\"site.test\" data-state=\"valid\""), "the dashboard lists it")

        // A name no Sites file serves: refused at the handshake, never ordered.
        let openssl = try sh(
            [
                "bash", "-c",
                "openssl s_client -connect 127.0.0.1:\(setup.tlsPort) -servername other.test </dev/null 2>&1",
            ], allowFailure: true)
        #expect(openssl.contains("unrecognized name"), "openssl said: \(openssl)")
        #expect(!canopy.serverLog.contains("certificate for other.test"))
        #expect(!setup.pebble.log.contains("other.test"))

        // Restart: the stored certificate serves at once, and no new order is made.
        let serial = try #require(try TestPKI.servedSerial(port: setup.tlsPort, serverName: "site.test"))
        #expect(try await canopy.stop() == 0)
        try await setup.start(challenges: "http-01")
        #expect(try TestPKI.servedSerial(port: setup.tlsPort, serverName: "site.test") == serial)
        try await waitUntil("the manager to decide about site.test after the restart") {
            (try setup.status("site.test"))["nextAttempt"] != nil
        }
        #expect(setup.orders("site.test") == 1, "a restart orders nothing:\n\(canopy.serverLogTail)")
        #expect(try setup.curl("site.test").contains("<em id=\"branch\">main</em>"))

        // Moving to another CA (staging → production): each name is ordered again from the new CA,
        // and the old certificate serves until the new one is installed.
        #expect(try await canopy.stop() == 0)
        let production = try await ACMEPebble(httpPort: setup.edgePort, tlsPort: setup.tlsPort)
        defer { production.stop() }
        try await setup.start(challenges: "http-01", ca: production)
        // The new CA may issue before the first look, so every look must find a certificate: the
        // stored one until the new one is installed, never none.
        var missing = 0
        try await waitUntil("the new CA's certificate to be served\n\(canopy.serverLogTail)") {
            let now = try TestPKI.servedSerial(port: setup.tlsPort, serverName: "site.test")
            if now == nil { missing += 1 }
            return now != nil && now != serial
        }
        #expect(missing == 0, "handshakes without a certificate during the CA switch")
        #expect(setup.orders("site.test") == 2)
        #expect(canopy.serverLog.contains("renewing the certificate for site.test (the stored one is from another CA)"))
        try await setup.stop()
    }

    /// TLS-ALPN-01 on the TLS listener, then renewal of a short-lived certificate (Pebble's
    /// `certificateValidityPeriod`) while a client keeps making new HTTPS connections: none fails,
    /// and the served certificate changes to the renewed one.
    @Test func tlsALPN01IssuanceAndRenewalWithoutAFailedRequest() async throws {
        let setup = try await Setup("acme-alpn", certificateValidity: 24)
        defer { setup.pebble.stop() }
        let canopy = setup.canopy
        try await setup.deployMain(challenges: "tls-alpn-01")
        try await setup.waitForHTTPS("site.test", "<em id=\"branch\">main</em>")
        let first = try #require(try TestPKI.servedSerial(port: setup.tlsPort, serverName: "site.test"))

        var requests = 0
        var failures: [String] = []
        let deadline = ContinuousClock.now + .seconds(90)
        var renewed: String?
        while ContinuousClock.now < deadline {
            let output = try sh(
                [
                    "curl", "-sS", "--max-time", "10", "--cacert", setup.root, "--resolve",
                    "site.test:\(setup.tlsPort):127.0.0.1", "-o", "/dev/null", "-w", "%{http_code}",
                    "https://site.test:\(setup.tlsPort)/",
                ], allowFailure: true)
            requests += 1
            if output != "200" { failures.append(output) }
            if let serial = try TestPKI.servedSerial(port: setup.tlsPort, serverName: "site.test"), serial != first {
                renewed = serial
                break
            }
        }
        #expect(renewed != nil, "renewed within 90 s:\n\(canopy.serverLogTail)")
        #expect(failures.isEmpty, "\(failures.count) of \(requests) requests failed: \(failures.prefix(3))")
        #expect(requests > 5)
        #expect(canopy.serverLog.contains("renewing the certificate for site.test"))
        #expect(canopy.serverLog.contains("challenges tls-alpn-01"))
        try await setup.stop()
    }

    /// DNS-01 for the previews' wildcard through RFC 2136 to a real BIND: one `*.preview.example.test`
    /// certificate covers every preview; a new preview branch is served over HTTPS at once, with no
    /// new order. The branch's own hostname gets HTTP-01.
    @Test func aWildcardCoversEveryPreviewWithNoNewOrder() async throws {
        let named = try await DNSNamed(records: "@ IN A 127.0.0.1\n")
        defer { named.stop() }
        let setup = try await Setup("acme-dns01", dnsServer: named.address)
        defer { setup.pebble.stop() }
        let canopy = setup.canopy
        let repo = try SiteRepository(in: canopy)
        try canopy.writeSite(
            "site",
            """
            repository: ../repos/site.git
            acme:
              dns:
                rfc2136: { server: "\(named.address)", keyName: \(named.key256.name), keyAlgorithm: hmac-sha256, keySecret: $CANOPY_TEST_TSIG }
            branches:
              main: { domains: [example.test] }
            previews:
              - branches: "feature/*"
                domain: "{branch}.preview.example.test"
            """)
        try await setup.start(
            challenges: "http-01,dns-01",
            environment: ["CANOPY_TEST_TSIG": Data(named.key256.secret).base64EncodedString()])
        try repo.commit("main")
        try repo.push("main")
        try repo.checkout("feature/one", create: true)
        try repo.commit("feature/one")
        try repo.push("feature/one")
        try await setup.waitForHTTPS("feature-one.preview.example.test", "<em id=\"branch\">feature/one</em>")
        try await setup.waitForHTTPS("example.test", "<em id=\"branch\">main</em>")
        #expect(setup.orders("*.preview.example.test") == 1)
        #expect(setup.orders("feature-one.preview.example.test") == 0, "a preview orders nothing of its own")
        #expect(setup.orders("example.test") == 1)
        let wildcardSerial = try TestPKI.servedSerial(
            port: setup.tlsPort, serverName: "feature-one.preview.example.test")

        try repo.checkout("feature/two", create: true)
        try repo.commit("feature/two")
        try repo.push("feature/two")
        try await setup.waitForHTTPS("feature-two.preview.example.test", "<em id=\"branch\">feature/two</em>")
        #expect(
            try TestPKI.servedSerial(port: setup.tlsPort, serverName: "feature-two.preview.example.test")
                == wildcardSerial)
        #expect(setup.orders("*.preview.example.test") == 1, "the second preview orders nothing")
        let status = try setup.status("feature-two.preview.example.test")
        #expect(status["state"] as? String == "valid" && status["source"] as? String == "acme", "\(status)")
        #expect((status["names"] as? [String]) == ["*.preview.example.test"], "\(status)")
        #expect(try await named.client(key: named.key256).txtValues("_acme-challenge.preview.example.test").isEmpty)
        try await setup.stop()
    }

    /// A challenge the CA cannot reach fails that name only: the site keeps serving cleartext, the
    /// CA's error and the next attempt show in `canopy certs`, and the next order waits for the
    /// back-off instead of retrying at once.
    @Test func aFailedValidationIsShownAndBacksOff() async throws {
        let setup = try await Setup("acme-fail", httpPortOverride: ACMETestPorts.free())
        defer { setup.pebble.stop() }
        let canopy = setup.canopy
        try await setup.deployMain(challenges: "http-01")
        try await canopy.waitForContent("site.test", "<em id=\"branch\">main</em>")
        var status: [String: Any] = [:]
        try await waitUntil("site.test to be reported failed\n\(canopy.serverLogTail)") {
            status = try setup.status("site.test")
            return status["state"] as? String == "failed"
        }
        let reason = status["reason"] as? String ?? ""
        #expect(reason.contains("http-01 validation of site.test failed"), "\(reason)")
        #expect(reason.contains("connection refused") || reason.contains("Connection refused"), "\(reason)")
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let next = try #require((status["nextAttempt"] as? String).flatMap { formatter.date(from: $0) }, "\(status)")
        #expect(next.timeIntervalSinceNow > 30, "the first retry waits about a minute: \(next)")
        #expect(canopy.serverLog.contains("ACME: no certificate for site.test"))
        // Serving is not affected: cleartext answers, with no redirect to an HTTPS that has no certificate.
        let plain = try canopy.get("site.test")
        #expect(plain.status == 200 && plain.text.contains("<em id=\"branch\">main</em>"))
        try await Task.sleep(for: .seconds(3))
        #expect(setup.orders("site.test") == 1, "no retry before the back-off")
        try await setup.stop()
    }

    /// An ACME server that cannot be reached: the account cannot be set up, every name says why
    /// and when the next attempt is, and serving goes on.
    @Test func anUnreachableCAIsShownPerHostnameAndServingGoesOn() async throws {
        let canopy = try CanopyInstance("acme-down")
        let repo = try SiteRepository(in: canopy)
        try canopy.writeSite("site", Self.sitesFile)
        try await canopy.start(extraArguments: [
            "--listen-tls", "127.0.0.1:0", "--acme-directory", "https://127.0.0.1:\(ACMETestPorts.free())/dir",
            "--acme-agree-tos",
        ])
        try repo.commit("main")
        try repo.push("main")
        try await canopy.waitForContent("site.test", "<em id=\"branch\">main</em>")
        // The certificate work starts once the hostname is routed: its first attempt (and failure)
        // can come a moment after the content does, on a loaded machine.
        var status: [String: Any] = [:]
        try await waitUntil("site.test's certificate state to be failed\n\(canopy.serverLogTail)") {
            let json = try canopy.cli(["certs", "--json"])
            let list = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]] ?? []
            status = list.first { $0["hostname"] as? String == "site.test" } ?? [:]
            return status["state"] as? String == "failed"
        }
        #expect(status["state"] as? String == "failed", "\(status)")
        #expect((status["reason"] as? String)?.contains("cannot set up the ACME account") == true, "\(status)")
        #expect((status["reason"] as? String)?.contains("cannot reach the ACME server") == true, "\(status)")
        #expect(status["nextAttempt"] != nil)
        #expect(try await canopy.stop() == 0)
    }
}
