import CanopyTLS
import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

/// The pure parts: JWK thumbprints, key authorizations, back-off and Retry-After, the CSR and the
/// RFC 8737 challenge certificate.
@Suite struct ACMEUnitTests {
    @Test func thumbprintIsSHA256OfTheCanonicalJWK() throws {
        let key = ACMEAccountKey.generate()
        let jwk = key.jwkJSON
        #expect(jwk.hasPrefix(#"{"crv":"P-256","kty":"EC","x":""#))
        let object = try JSONSerialization.jsonObject(with: Data(jwk.utf8)) as? [String: String]
        #expect(Base64URL.decode(object?["x"] ?? "")?.count == 32 && Base64URL.decode(object?["y"] ?? "")?.count == 32)
        #expect(key.thumbprint == Base64URL.encode(SHA256.hash(data: Data(jwk.utf8))))
        #expect(key.keyAuthorization(token: "tok") == "tok." + key.thumbprint)
        #expect(!key.thumbprint.contains("=") && !key.thumbprint.contains("+") && !key.thumbprint.contains("/"))
        let reloaded = try ACMEAccountKey(pemRepresentation: key.pemRepresentation)
        #expect(reloaded.thumbprint == key.thumbprint)
    }

    @Test func backoffDoublesUpToTheCapAndRetryAfterWins() {
        let backoff = ACMEBackoff(initial: 60, maximum: 3600, factor: 2)
        #expect(backoff.delay(afterFailures: 1) == 60)
        #expect(backoff.delay(afterFailures: 3) == 240)
        #expect(backoff.delay(afterFailures: 30) == 3600)
        #expect(backoff.delay(afterFailures: 1, retryAfter: 900) == 900)
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(ACMEBackoff.parseRetryAfter("120", now: now) == now.addingTimeInterval(120))
        #expect(
            ACMEBackoff.parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now: now)
                == Date(timeIntervalSince1970: 1_445_412_480))
        #expect(ACMEBackoff.parseRetryAfter("soon", now: now) == nil)
    }

    @Test func problemKindsAndDescriptions() throws {
        let json = #"""
            {"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"Error creating new order",
             "status":400,"subproblems":[{"type":"urn:ietf:params:acme:error:rateLimited","detail":"too many",
             "identifier":{"type":"dns","value":"a.example.com"}}]}
            """#
        let problem = try JSONDecoder().decode(ACMEProblem.self, from: Data(json.utf8))
        #expect(problem.kind == "rejectedIdentifier")
        #expect(problem.subproblems?.first?.kind == "rateLimited")
        #expect(problem.description.contains("a.example.com: rateLimited: too many"))
    }

    @Test func csrCarriesEveryNameAndVerifies() throws {
        let key = P256.Signing.PrivateKey()
        let der = try ACMECertificateRequest.der(names: ["*.preview.example.com", "example.com"], key: .init(key))
        let csr = try CertificateSigningRequest(derEncoded: der)
        #expect(csr.publicKey == Certificate.PublicKey(key.publicKey))
        #expect(csr.publicKey.isValidSignature(csr.signature, for: csr))
        let names = try csr.attributes.extensionRequest?.extensions.subjectAlternativeNames
        #expect(names?.map { "\($0)" }.count == 2)
        #expect(names?.contains(.dnsName("*.preview.example.com")) == true)
    }

    @Test func tlsALPNCertificateHasTheCriticalAcmeIdentifier() throws {
        let challenge = try ACMETLSALPNChallengeCertificate(domain: "www.example.com", keyAuthorization: "tok.thumb")
        let certificate = try Certificate(pemEncoded: try challenge.certificatePEM)
        let ext = certificate.extensions[oid: ACMETLSALPNChallengeCertificate.acmeIdentifierOID]
        #expect(ext?.critical == true)
        let value = try ASN1OctetString(derEncoded: Array(ext?.value ?? []))
        #expect(Array(value.bytes) == Array(SHA256.hash(data: Data("tok.thumb".utf8))))
        #expect(
            try certificate.extensions.subjectAlternativeNames == SubjectAlternativeNames([.dnsName("www.example.com")])
        )
        #expect(certificate.issuer == certificate.subject)
    }
}
