import NIOSSL

/// How Canopy's TLS listener speaks: TLS 1.2 and 1.3 only, forward-secret AEAD cipher suites
/// (Mozilla's "intermediate" list for TLS 1.2; TLS 1.3's suites are all modern), ALPN `h2` then
/// `http/1.1`. Session resumption is BoringSSL's: tickets on, with ticket keys it generates per
/// context and rotates itself (every two days), plus the server session cache for TLS 1.2.
public enum TLSContexts {
    /// TLS 1.2 suites: ECDHE key exchange with AES-GCM or ChaCha20-Poly1305 only.
    public static let cipherSuites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    /// The protocols a site's context offers, in order of preference.
    public static let siteProtocols = ["h2", "http/1.1"]
    /// The protocol of TLS-ALPN-01 challenges (RFC 8737).
    public static let acmeProtocol = "acme-tls/1"

    /// A server context for a site's certificate.
    public static func site(_ bundle: CertificateBundle) throws -> NIOSSLContext {
        try make(bundle, protocols: siteProtocols)
    }

    /// A server context that only speaks `acme-tls/1`, for a challenge certificate.
    public static func challenge(_ bundle: CertificateBundle) throws -> NIOSSLContext {
        try make(bundle, protocols: [acmeProtocol])
    }

    static func make(_ bundle: CertificateBundle, protocols: [String]) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: bundle.chain.map { .certificate($0) }, privateKey: .privateKey(bundle.key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.maximumTLSVersion = .tlsv13
        configuration.cipherSuites = cipherSuites
        configuration.applicationProtocols = protocols
        return try NIOSSLContext(configuration: configuration)
    }

    /// Builds a set from hostnames (or `*.x.y`) and their bundles, reusing the contexts of `previous`
    /// for certificates it already had. Returns the names whose context could not be made, with why.
    public static func makeSet(
        _ assignments: [String: CertificateBundle], reusing previous: CertificateSet = .empty
    ) -> (CertificateSet, failures: [String: String]) {
        var contexts = previous.contextsByFingerprint
        var entries: [String: CertificateSet.Entry] = [:]
        var failures: [String: String] = [:]
        for (name, bundle) in assignments {
            do {
                let context: NIOSSLContext
                if let existing = contexts[bundle.fingerprint] {
                    context = existing
                } else {
                    context = try site(bundle)
                    contexts[bundle.fingerprint] = context
                }
                entries[name] = CertificateSet.Entry(bundle: bundle, context: context)
            } catch {
                failures[name] = "the TLS library refused the certificate: \(error)"
            }
        }
        return (CertificateSet(entries: entries), failures)
    }
}
