import CanopyTLS
import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

/// ACME Renewal Information (RFC 9773): the certificate identifier and the response, with the
/// RFC's own examples as input.
struct ACMERenewalInfoTests {
    /// RFC 9773 §4.1: AKI keyIdentifier 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4 and
    /// serial 0x87654321 give `aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE` (the serial's DER octets keep
    /// the leading zero its high bit needs).
    @Test func theCertificateIdentifierIsTheRFCsExample() throws {
        let keyIdentifier: [UInt8] = [
            0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41, 0xE1, 0xB3, 0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01,
            0xC8, 0xD4,
        ]
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("ari.example") }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(bytes: [0x87, 0x65, 0x43, 0x21]), publicKey: .init(key.publicKey),
            notValidBefore: now, notValidAfter: now.addingTimeInterval(86_400), issuer: name, subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                AuthorityKeyIdentifier(keyIdentifier: keyIdentifier[...])
            }, issuerPrivateKey: .init(key))
        #expect(try ACMEClient.renewalInfoIdentifier(certificate) == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE")
    }

    /// RFC 9773 §4.2's example response, and the `Retry-After` that says when to ask again.
    @Test func theRFCsExampleResponseGivesTheWindow() throws {
        let body = """
            {"suggestedWindow": {"start": "2025-01-02T04:00:00Z", "end": "2025-01-03T04:00:00Z"},
             "explanationURL": "https://acme.example.com/docs/ari"}
            """
        let now = Date(timeIntervalSince1970: 1_735_700_000)
        let info = try ACMEClient.parseRenewalInfo(Array(body.utf8), retryAfter: "21600", url: "x", now: now)
        let formatter = ISO8601DateFormatter()
        #expect(info.suggestedWindow.lowerBound == formatter.date(from: "2025-01-02T04:00:00Z"))
        #expect(info.suggestedWindow.upperBound == formatter.date(from: "2025-01-03T04:00:00Z"))
        #expect(info.nextCheck == now.addingTimeInterval(21_600))
        #expect(info.explanationURL == "https://acme.example.com/docs/ari")
        // The policy renews inside the window, not at two thirds of the lifetime.
        let certificate = RenewalPolicy.Certificate(
            notBefore: formatter.date(from: "2024-12-01T00:00:00Z")!,
            notAfter: formatter.date(from: "2025-03-01T00:00:00Z")!,
            suggestedWindow: info.suggestedWindow)
        #expect(info.suggestedWindow.contains(RenewalPolicy().renewalDate(certificate, hostname: "example.com")))
        // A window that ends before it starts is refused, with the URL.
        #expect(throws: ACMEError.self) {
            _ = try ACMEClient.parseRenewalInfo(
                Array(#"{"suggestedWindow": {"start": "2025-01-03T04:00:00Z", "end": "2025-01-02T04:00:00Z"}}"#.utf8),
                retryAfter: nil, url: "x", now: now)
        }
    }
}
