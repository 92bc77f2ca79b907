import NIOSSL

/// Which certificate each hostname presents: an immutable snapshot, swapped into the edge
/// atomically (a handshake reads one snapshot, as a request reads one RoutingTable). Keys are
/// hostnames or wildcards (`*.preview.example.com`, covering one label); each entry holds its
/// bundle and a ready TLS context, shared by every hostname with the same certificate.
public final class CertificateSet: Sendable {
    /// One certificate, ready to serve.
    public struct Entry: Sendable {
        public let bundle: CertificateBundle
        public let context: NIOSSLContext

        public init(bundle: CertificateBundle, context: NIOSSLContext) {
            self.bundle = bundle
            self.context = context
        }
    }

    private let exact: [String: Entry]
    /// `x.y` for `*.x.y`.
    private let wildcards: [String: Entry]

    /// `entries` maps lowercase hostnames or `*.x.y` wildcards to their certificate.
    public init(entries: [String: Entry]) {
        var exact: [String: Entry] = [:]
        var wildcards: [String: Entry] = [:]
        for (name, entry) in entries {
            let lower = name.lowercased()
            if lower.hasPrefix("*.") {
                wildcards[String(lower.dropFirst(2))] = entry
            } else {
                exact[lower] = entry
            }
        }
        self.exact = exact
        self.wildcards = wildcards
    }

    public static let empty = CertificateSet(entries: [:])

    /// The certificate for a TLS client's server name (SNI), or nil when no hostname Canopy serves
    /// has that name: then the handshake is refused, never answered with another site's certificate.
    public func entry(forServerName name: String) -> Entry? {
        var host = name.lowercased()
        if host.hasSuffix(".") { host.removeLast() }
        if let entry = exact[host] { return entry }
        guard let dot = host.firstIndex(of: ".") else { return nil }
        return wildcards[String(host[host.index(after: dot)...])]
    }

    /// True when the hostname has a certificate (its cleartext requests may be redirected to HTTPS).
    public func covers(_ hostname: String) -> Bool { entry(forServerName: hostname) != nil }

    public var isEmpty: Bool { exact.isEmpty && wildcards.isEmpty }

    /// Every key, wildcards as `*.x.y`, sorted.
    public var names: [String] { (Array(exact.keys) + wildcards.keys.map { "*." + $0 }).sorted() }

    /// Entries of another set by certificate fingerprint, so that a new snapshot keeps the TLS
    /// contexts (and their session-ticket keys) of certificates that did not change.
    public var contextsByFingerprint: [String: NIOSSLContext] {
        var out: [String: NIOSSLContext] = [:]
        for entry in Array(exact.values) + Array(wildcards.values) {
            out[entry.bundle.fingerprint] = entry.context
        }
        return out
    }
}
