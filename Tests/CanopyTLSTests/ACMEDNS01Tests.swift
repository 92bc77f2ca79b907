import CanopyTLS
import CanopyTestSupport
import Foundation
import Logging
import Testing

extension CanopyTLSEndToEnd {
    /// DNS-01 end to end: Pebble resolves through a real BIND that the RFC 2136 client updates —
    /// a wildcard for previews, and a `_acme-challenge` delegated by CNAME to another zone.
    @Suite(
        .enabled(
            if: ACMEPebble.available && DNSNamed.available, "needs pebble and bind9 (Scripts/test.sh installs them)"))
    struct ACMEDNS01Tests {
        @Test func wildcardAndCNAMEDelegatedNamesAreIssuedThroughRFC2136() async throws {
            let named = try await DNSNamed()
            defer { named.stop() }
            let pebble = try await ACMEPebble(dnsServer: named.address)
            defer { pebble.stop() }
            let client = try await ACMEPebbleTests.client(pebble)
            try await client.register(contact: ["ops@example.test"], agreeToTermsOfService: true)
            let dns = named.client(key: named.key256)
            let solver = DNS01Solver(client: dns)
            let names = ["*.preview.example.test", "preview.example.test", "cname.example.test"]
            let issued: ACMEIssuedCertificate
            do {
                issued = try await client.issueCertificate(for: names, solvers: [solver])
            } catch {
                Issue.record("named:\n\(named.log)\npebble:\n\(pebble.log)")
                throw error
            }
            try await ACMEPebbleTests.expectValid(issued, names: names, pebble: pebble)
            #expect(try await dns.txtValues("_acme-challenge.preview.example.test").isEmpty, "cleanup removes the TXT")
            #expect(try await dns.txtValues("cname-challenge.acme-delegate.test").isEmpty)
            #expect(named.log.contains("cname-challenge.acme-delegate.test"), "the delegated zone was updated")
        }

        @Test func aWildcardCannotBeAnsweredOverHTTP() async throws {
            let named = try await DNSNamed()
            defer { named.stop() }
            let pebble = try await ACMEPebble(dnsServer: named.address)
            defer { pebble.stop() }
            let client = try await ACMEPebbleTests.client(pebble)
            try await client.register(contact: [], agreeToTermsOfService: true)
            let http = HTTP01Solver { _, _ in }
            let error = await #expect(throws: ACMEError.self) {
                _ = try await client.issueCertificate(for: ["*.preview.example.test"], solvers: [http])
            }
            #expect(error?.description.contains("*.preview.example.test") == true, "\(String(describing: error))")
            #expect(error?.description.contains("dns-01") == true)
        }
    }
}
