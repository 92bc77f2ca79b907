import CanopyTLS
import NIOConcurrencyHelpers
import NIOSSL

/// What the edge answers for ACME challenges while an order is being validated (used by the
/// ACME client through `EdgeServer`): HTTP-01 tokens and their key authorizations, answered at
/// `/.well-known/acme-challenge/<token>` on the cleartext listener before any routing or
/// redirect; and TLS-ALPN-01 certificates (RFC 8737), presented only to `acme-tls/1` hellos.
/// Each map is behind its own lock; the request path takes it only for challenge paths.
public final class ACMEChallenges: Sendable {
    private let tokens = NIOLockedValueBox<[String: String]>([:])
    private let certificates = NIOLockedValueBox<[String: NIOSSLContext]>([:])

    public init() {}

    public func setHTTP(token: String, keyAuthorization: String) {
        tokens.withLockedValue { $0[token] = keyAuthorization }
    }

    public func removeHTTP(token: String) {
        _ = tokens.withLockedValue { $0.removeValue(forKey: token) }
    }

    func keyAuthorization(token: String) -> String? {
        tokens.withLockedValue { $0[token] }
    }

    /// Installs the challenge certificate for `domain` (its context speaks only `acme-tls/1`).
    public func setTLSALPN(domain: String, certificate: CertificateBundle) throws {
        let context = try TLSContexts.challenge(certificate)
        certificates.withLockedValue { $0[domain.lowercased()] = context }
    }

    public func removeTLSALPN(domain: String) {
        _ = certificates.withLockedValue { $0.removeValue(forKey: domain.lowercased()) }
    }

    func tlsContext(for serverName: String) -> NIOSSLContext? {
        var name = serverName.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        return certificates.withLockedValue { $0[name] }
    }
}
