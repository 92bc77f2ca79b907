import CanopyTLS
import CanopyTestSupport
import Crypto
import Foundation
import Logging
import Testing
import X509

extension CanopyTLSEndToEnd {
    /// Issuance against a real Pebble: HTTP-01 and TLS-ALPN-01 with pebble-challtestsrv as Pebble's
    /// DNS (every name → 127.0.0.1), challenge servers run by the test on Pebble's httpPort/tlsPort.
    @Suite(.enabled(if: ACMEPebble.available, "needs Debian's pebble (Scripts/test.sh installs it)"))
    struct ACMEPebbleTests {
        static let logger = Logger(label: "acme-test")

        static func client(_ pebble: ACMEPebble, key: ACMEAccountKey = .generate()) async throws -> ACMEClient {
            let client = ACMEClient(
                directoryURL: pebble.directoryURL, accountKey: key, http: try pebble.httpClient(), logger: logger)
            await client.setPolling(interval: .milliseconds(100), timeout: .seconds(30))
            return client
        }

        /// The chain verifies against Pebble's issuing root for every name, and the key matches.
        static func expectValid(_ issued: ACMEIssuedCertificate, names: [String], pebble: ACMEPebble) async throws {
            let root = try await pebble.issuingRoot()
            for name in names {
                let host = name.hasPrefix("*.") ? "any" + name.dropFirst() : name
                var verifier = Verifier(rootCertificates: CertificateStore([root])) {
                    RFC5280Policy(validationTime: Date())
                    ServerIdentityPolicy(serverHostname: host, serverIP: nil)
                }
                let result = await verifier.validate(
                    leaf: issued.leaf, intermediates: CertificateStore(Array(issued.chain.dropFirst())))
                guard case .validCertificate = result else {
                    Issue.record("chain does not verify for \(host): \(result)")
                    return
                }
            }
            let sans = try issued.leaf.extensions.subjectAlternativeNames?.compactMap { name -> String? in
                if case .dnsName(let dns) = name { return dns }
                return nil
            }
            #expect(Set(sans ?? []) == Set(names))
            let key = try P256.Signing.PrivateKey(pemRepresentation: issued.privateKeyPEM)
            #expect(issued.leaf.publicKey == Certificate.PublicKey(key.publicKey))
            #expect(issued.chain.count >= 2)
        }

        @Test func http01IssuesAChainThatVerifiesForEveryName() async throws {
            let httpPort = ACMETestPorts.free()
            let server = try await ACMEHTTP01TestServer(port: httpPort)
            let pebble = try await ACMEPebble(httpPort: httpPort)
            defer { pebble.stop() }
            let client = try await Self.client(pebble)
            let account = try await client.register(contact: ["ops@example.test"], agreeToTermsOfService: true)
            #expect(account.status == "valid" && account.contact == ["mailto:ops@example.test"])
            let names = ["main.example.test", "dev.example.test"]
            let issued = try await client.issueCertificate(for: names, solvers: [server.solver])
            try await Self.expectValid(issued, names: names, pebble: pebble)
            let asked = server.requests.withLockedValue { $0 }
            #expect(asked.count >= 2 && asked.allSatisfy { $0.hasPrefix("/.well-known/acme-challenge/") })
            #expect(server.tokens.withLockedValue { $0.isEmpty }, "cleanup removes the tokens")
            await server.stop()
        }

        @Test func tlsALPN01IssuesWithTheRFC8737Certificate() async throws {
            let tlsPort = ACMETestPorts.free()
            let server = ACMETLSALPNTestServer(port: tlsPort)
            let pebble = try await ACMEPebble(tlsPort: tlsPort)
            defer { pebble.stop() }
            let client = try await Self.client(pebble)
            try await client.register(contact: [], agreeToTermsOfService: true)
            let issued = try await client.issueCertificate(for: ["secure.example.test"], solvers: [server.solver])
            try await Self.expectValid(issued, names: ["secure.example.test"], pebble: pebble)
            #expect(server.handshakes.withLockedValue { $0 }.contains("acme-tls/1"))
            await server.stop()
        }

        @Test func aRejectedChallengeSurfacesPebblesProblem() async throws {
            let httpPort = ACMETestPorts.free()
            let server = try await ACMEHTTP01TestServer(port: httpPort)
            let pebble = try await ACMEPebble(httpPort: httpPort)
            defer { pebble.stop() }
            let client = try await Self.client(pebble)
            try await client.register(contact: [], agreeToTermsOfService: true)
            let wrong = HTTP01Solver { token, keyAuthorization in
                server.tokens.withLockedValue {
                    $0[token] = keyAuthorization.map { _ in token + ".not-the-thumbprint" }
                }
            }
            let error = await #expect(throws: ACMEError.self) {
                _ = try await client.issueCertificate(for: ["broken.example.test"], solvers: [wrong])
            }
            guard case .challengeFailed(let identifier, let type, let problem)? = error else {
                Issue.record("expected challengeFailed, got \(String(describing: error))")
                return
            }
            #expect(identifier == "broken.example.test" && type == "http-01")
            #expect(problem?.kind == "unauthorized", "\(String(describing: problem))")
            #expect(problem?.detail?.isEmpty == false)
            #expect(error?.description.contains("broken.example.test") == true)
            await server.stop()
        }

        @Test func theAccountIsFoundAgainByItsKeyAndAnUnknownKeyIsSaidSo() async throws {
            let pebble = try await ACMEPebble()
            defer { pebble.stop() }
            let key = ACMEAccountKey.generate()
            let created = try await Self.client(pebble, key: key).register(
                contact: ["a@example.test"], agreeToTermsOfService: true)
            let reloaded = try ACMEAccountKey(pemRepresentation: key.pemRepresentation)
            let found = try await Self.client(pebble, key: reloaded).findExistingAccount()
            #expect(found.url == created.url)
            let again = try await Self.client(pebble, key: key).register(
                contact: ["a@example.test"], agreeToTermsOfService: true)
            #expect(again.url == created.url)
            let error = await #expect(throws: ACMEError.self) {
                try await Self.client(pebble).findExistingAccount()
            }
            #expect(error?.problem?.kind == "accountDoesNotExist", "\(String(describing: error))")
        }

        @Test func withoutTheTrustFileTheServerIsNotTrusted() async throws {
            let pebble = try await ACMEPebble()
            defer { pebble.stop() }
            let client = ACMEClient(
                directoryURL: pebble.directoryURL, accountKey: .generate(), http: try ACMEHTTPClient(),
                logger: Self.logger)
            let error = await #expect(throws: ACMEError.self) { try await client.fetchDirectory() }
            guard case .connection(let url, let reason)? = error else {
                Issue.record("expected a connection error, got \(String(describing: error))")
                return
            }
            #expect(url == pebble.directoryURL)
            #expect(reason.lowercased().contains("certificate"), "\(reason)")
        }
    }
}
