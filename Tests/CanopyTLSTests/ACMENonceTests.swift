import CanopyTLS
import CanopyTestSupport
import Foundation
import Testing

extension CanopyTLSEndToEnd {
    /// Pebble rejecting a third of good nonces with `badNonce`: the client retries with the nonce the
    /// error carried, and issuance still completes.
    @Suite(.enabled(if: ACMEPebble.available, "needs Debian's pebble (Scripts/test.sh installs it)"))
    struct ACMENonceTests {
        @Test func badNonceIsRetried() async throws {
            let httpPort = ACMETestPorts.free()
            let server = try await ACMEHTTP01TestServer(port: httpPort)
            let pebble = try await ACMEPebble(httpPort: httpPort, nonceRejectPercent: 30)
            defer { pebble.stop() }
            let client = try await ACMEPebbleTests.client(pebble)
            try await client.register(contact: [], agreeToTermsOfService: true)
            let issued = try await client.issueCertificate(for: ["nonce.example.test"], solvers: [server.solver])
            try await ACMEPebbleTests.expectValid(issued, names: ["nonce.example.test"], pebble: pebble)
            await server.stop()
        }
    }
}
