import CanopyTLS
import Foundation
import Testing

/// The Sites file's `acme.dns.rfc2136` strings become a configuration; secrets come from the
/// environment; mistakes say which field.
@Suite struct DNSConfigurationTests {
    @Test func serverKeyAndSecretFromTheEnvironment() throws {
        let secret = Data((0..<32).map { UInt8($0) }).base64EncodedString()
        let config = try RFC2136Configuration(
            server: "127.0.0.1:5353", keyName: "canopy.", keyAlgorithm: "HMAC-SHA512", keySecret: "$DNS_SECRET",
            environment: ["DNS_SECRET": secret])
        #expect(config.host == "127.0.0.1" && config.port == 5353)
        #expect(config.key?.name == "canopy" && config.key?.algorithm == .hmacSHA512)
        #expect(config.key?.secret == (0..<32).map { UInt8($0) })
        #expect(
            try RFC2136Configuration(server: "[::1]:53", keyName: nil, keyAlgorithm: nil, keySecret: nil).host == "::1")
        #expect(
            try RFC2136Configuration(server: "ns1.example.com", keyName: nil, keyAlgorithm: nil, keySecret: nil).port
                == 53)
    }

    @Test func mistakesNameTheField() {
        func message(_ server: String, _ algorithm: String?, _ secret: String?) -> String {
            do {
                _ = try RFC2136Configuration(
                    server: server, keyName: "k", keyAlgorithm: algorithm, keySecret: secret, environment: [:])
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(message("host:99999", nil, "AAAA").contains("acme.dns.rfc2136.server"))
        #expect(message("host", nil, "$MISSING").contains("MISSING"))
        #expect(message("host", "hmac-md5", "AAAA").contains("hmac-md5"))
        #expect(message("host", nil, "not base64!").contains("base64"))
    }
}
