import Foundation

/// One hostname's certificate as `canopy certs` and `GET /api/v1/certs` show it.
public struct CertificateStatus: Sendable, Codable, Hashable {
    public var hostname: String
    /// `file`, `acme` or `none` (`tls: off`, or no certificate yet).
    public var source: String
    /// The certificate file (for `file`), or the stored chain (for `acme`).
    public var file: String?
    public var issuer: String?
    /// The DNS names the certificate carries.
    public var names: [String]
    public var notAfter: Date?
    /// `valid`, `expiring` (less than a third of its lifetime or 30 days left), `failed`
    /// (with `reason`; a previous certificate may still be serving: `serving`), or `none`.
    public var state: String
    public var reason: String?
    /// True when the edge presents a certificate for the hostname now.
    public var serving: Bool
    /// When the next ACME attempt is due (nil for files and when nothing is planned).
    public var nextAttempt: Date?

    public init(
        hostname: String, source: String, file: String? = nil, issuer: String? = nil, names: [String] = [],
        notAfter: Date? = nil, state: String, reason: String? = nil, serving: Bool = false, nextAttempt: Date? = nil
    ) {
        self.hostname = hostname
        self.source = source
        self.file = file
        self.issuer = issuer
        self.names = names
        self.notAfter = notAfter
        self.state = state
        self.reason = reason
        self.serving = serving
        self.nextAttempt = nextAttempt
    }
}
