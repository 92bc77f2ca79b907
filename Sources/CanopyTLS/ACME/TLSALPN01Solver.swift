import Crypto
import Foundation
import SwiftASN1
import X509

/// The certificate a TLS-ALPN-01 validation sees (RFC 8737 §3): self-signed for one name, with the
/// critical `id-pe-acmeIdentifier` extension holding SHA-256 of the key authorization. Served only
/// to handshakes that offer ALPN `acme-tls/1` and name `domain` in SNI.
public struct ACMETLSALPNChallengeCertificate: Sendable {
    /// The name it is for.
    public var domain: String
    /// The certificate.
    public var certificate: Certificate
    /// Its private key.
    public var privateKey: Certificate.PrivateKey

    /// `id-pe-acmeIdentifier`, 1.3.6.1.5.5.7.1.31.
    public static let acmeIdentifierOID: ASN1ObjectIdentifier = [1, 3, 6, 1, 5, 5, 7, 1, 31]
    /// The ALPN protocol name the validation offers.
    public static let alpnProtocol = "acme-tls/1"

    /// Builds the certificate for `domain` and `keyAuthorization`.
    public init(domain: String, keyAuthorization: String, now: Date = Date()) throws {
        let key = P256.Signing.PrivateKey()
        let digest = [UInt8](SHA256.hash(data: Data(keyAuthorization.utf8)))
        var serializer = DER.Serializer()
        try serializer.serialize(ASN1OctetString(contentBytes: digest[...]))
        let extensions = try Certificate.Extensions([
            try Certificate.Extension(SubjectAlternativeNames([.dnsName(domain)]), critical: false),
            Certificate.Extension(oid: Self.acmeIdentifierOID, critical: true, value: serializer.serializedBytes[...]),
        ])
        var serial = (0..<16).map { _ in UInt8.random(in: 0...255) }
        serial[0] &= 0x7F
        let name = try DistinguishedName { CommonName("ACME challenge for \(domain)") }
        self.domain = domain
        self.privateKey = Certificate.PrivateKey(key)
        self.certificate = try Certificate(
            version: .v3, serialNumber: .init(bytes: serial), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(7 * 86_400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions,
            issuerPrivateKey: .init(key))
    }

    /// The certificate as PEM.
    public var certificatePEM: String {
        get throws { try certificate.serializeAsPEM().pemString }
    }

    /// The private key as PKCS#8 PEM.
    public var privateKeyPEM: String {
        get throws { try privateKey.serializeAsPEM().pemString }
    }
}

/// TLS-ALPN-01 (RFC 8737): hands the challenge certificate for a domain to `install` (the TLS
/// listener's per-domain `acme-tls/1` hook) and `nil` to remove it.
public struct TLSALPN01Solver: ACMEChallengeSolver {
    /// Installs (`certificate`) or removes (`nil`) the challenge certificate for a domain.
    public let install:
        @Sendable (_ domain: String, _ certificate: ACMETLSALPNChallengeCertificate?) async throws -> Void

    /// Creates a solver that installs certificates through the closure.
    public init(
        install:
            @escaping @Sendable (_ domain: String, _ certificate: ACMETLSALPNChallengeCertificate?) async throws
            -> Void
    ) {
        self.install = install
    }

    public var challengeType: String { "tls-alpn-01" }

    public func canSolve(domain: String, wildcard: Bool) -> Bool { !wildcard }

    public func present(_ challenge: ACMEChallengeContext) async throws {
        let certificate = try ACMETLSALPNChallengeCertificate(
            domain: challenge.domain, keyAuthorization: challenge.keyAuthorization)
        try await install(challenge.domain, certificate)
    }

    public func cleanup(_ challenge: ACMEChallengeContext) async throws {
        try await install(challenge.domain, nil)
    }
}
