import Foundation

/// A site's `acme:` block: how Canopy answers ACME challenges it cannot answer itself, i.e. DNS-01
/// for wildcard preview names: `acme: { dns: { rfc2136: { server, keyName, keyAlgorithm, keySecret } } }`.
public struct ACMESiteSettings: Sendable, Hashable {
    /// The RFC 2136 dynamic-update server for DNS-01, if configured.
    public var rfc2136: RFC2136Settings?

    /// Creates settings.
    public init(rfc2136: RFC2136Settings? = nil) {
        self.rfc2136 = rfc2136
    }
}

/// `acme.dns.rfc2136` as written; values may be `$NAME` (read from the environment by CanopyTLS's
/// `RFC2136Configuration`).
public struct RFC2136Settings: Sendable, Hashable {
    /// `HOST`, `HOST:PORT` or `[IPv6]:PORT`.
    public var server: String
    /// The TSIG key name, as in the server's `key` statement.
    public var keyName: String?
    /// `hmac-sha256` (default), `hmac-sha384` or `hmac-sha512`.
    public var keyAlgorithm: String?
    /// The base64 secret, normally `$NAME`.
    public var keySecret: String?
    /// Where the block is, for messages.
    public var location: SourceLocation

    /// Creates settings.
    public init(
        server: String, keyName: String? = nil, keyAlgorithm: String? = nil, keySecret: String? = nil,
        location: SourceLocation
    ) {
        self.server = server
        self.keyName = keyName
        self.keyAlgorithm = keyAlgorithm
        self.keySecret = keySecret
        self.location = location
    }
}

extension ACMESiteSettings {
    static let algorithms: Set<String> = ["hmac-sha256", "hmac-sha384", "hmac-sha512"]

    /// Parses the `acme:` value of a Sites file.
    static func parse(_ value: YAMLValue, _ findings: inout DiagnosticCollector) throws -> ACMESiteSettings {
        var settings = ACMESiteSettings()
        for entry in try value.mapping("acme") {
            guard entry.key == "dns" else {
                findings.warn(entry.keyLocation, "unknown key 'acme.\(entry.key)' is ignored")
                continue
            }
            for provider in try entry.value.mapping("acme.dns") {
                guard provider.key == "rfc2136" else {
                    findings.warn(provider.keyLocation, "unknown DNS provider 'acme.dns.\(provider.key)' (use rfc2136)")
                    continue
                }
                settings.rfc2136 = try parseRFC2136(provider.value, &findings)
            }
        }
        return settings
    }

    static func parseRFC2136(_ value: YAMLValue, _ findings: inout DiagnosticCollector) throws -> RFC2136Settings {
        var fields: [String: String] = [:]
        for field in try value.mapping("acme.dns.rfc2136") {
            switch field.key {
            case "server", "keyName", "keyAlgorithm", "keySecret":
                fields[field.key] = try field.value.string("acme.dns.rfc2136.\(field.key)")
                if field.key == "keySecret", fields[field.key]?.hasPrefix("$") == false {
                    findings.warn(
                        field.keyLocation,
                        "acme.dns.rfc2136.keySecret is written in the Sites file: use $NAME to read it from the environment"
                    )
                }
            default: findings.warn(field.keyLocation, "unknown key 'acme.dns.rfc2136.\(field.key)' is ignored")
            }
        }
        guard let server = fields["server"], !server.isEmpty else {
            throw value.error("acme.dns.rfc2136 needs server: HOST:PORT (the DNS server that accepts updates)")
        }
        if (fields["keyName"] == nil) != (fields["keySecret"] == nil) {
            throw value.error("acme.dns.rfc2136 needs both keyName and keySecret (or neither)")
        }
        if let algorithm = fields["keyAlgorithm"], !algorithm.hasPrefix("$"),
            !algorithms.contains(algorithm.lowercased())
        {
            throw value.error(
                "acme.dns.rfc2136.keyAlgorithm '\(algorithm)' is not one of \(algorithms.sorted().joined(separator: ", "))"
            )
        }
        return RFC2136Settings(
            server: server, keyName: fields["keyName"], keyAlgorithm: fields["keyAlgorithm"],
            keySecret: fields["keySecret"], location: value.location)
    }
}
