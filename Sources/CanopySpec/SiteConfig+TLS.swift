import Foundation

/// Where a hostname's certificate comes from (`tls:` in a Sites file).
public enum TLSSource: Sendable, Hashable, CustomStringConvertible {
    /// Obtained and renewed by Canopy's ACME client.
    case acme
    /// The hostname stays cleartext-only.
    case off
    /// The user's own PEM files (absolute paths, resolved against the Sites file's folder).
    case files(certificate: String, key: String)

    public var description: String {
        switch self {
        case .acme: "acme"
        case .off: "off"
        case .files(let certificate, _): "file \(certificate)"
        }
    }
}

/// What cleartext requests to a hostname with a certificate get (`https:`).
public enum HTTPSPolicy: String, Sendable, Hashable {
    /// `308` to the same URL on HTTPS (the default).
    case redirect
    /// Served over both.
    case allow
}

/// `Strict-Transport-Security` on HTTPS responses (`hsts: 180d` or
/// `hsts: { maxAge: 180d, includeSubDomains: true, preload: true }`).
public struct HSTSPolicy: Sendable, Hashable {
    public var maxAge: Int
    public var includeSubDomains: Bool
    public var preload: Bool

    public init(maxAge: Int, includeSubDomains: Bool = false, preload: Bool = false) {
        self.maxAge = maxAge
        self.includeSubDomains = includeSubDomains
        self.preload = preload
    }

    /// The header's value, e.g. `max-age=15552000; includeSubDomains; preload`.
    public var headerValue: String {
        "max-age=\(maxAge)" + (includeSubDomains ? "; includeSubDomains" : "") + (preload ? "; preload" : "")
    }
}

/// The HTTPS settings of a site, branch or preview pattern; unset fields take the site's.
public struct TLSSettings: Sendable, Hashable {
    public var tls: TLSSource?
    public var https: HTTPSPolicy?
    public var hsts: HSTSPolicy?

    public init(tls: TLSSource? = nil, https: HTTPSPolicy? = nil, hsts: HSTSPolicy? = nil) {
        self.tls = tls
        self.https = https
        self.hsts = hsts
    }

    /// These settings, with what they leave unset taken from `defaults`.
    public func over(_ defaults: TLSSettings) -> TLSSettings {
        TLSSettings(tls: tls ?? defaults.tls, https: https ?? defaults.https, hsts: hsts ?? defaults.hsts)
    }
}

extension SitesSpec {
    /// Parses `tls:`, `https:` or `hsts:`; returns false for any other key.
    static func tlsSetting(
        _ settings: inout TLSSettings, _ field: (key: String, keyLocation: SourceLocation, value: YAMLValue),
        _ what: String
    ) throws -> Bool {
        switch field.key {
        case "tls":
            settings.tls = try tlsSource(field.value, "\(what)tls")
        case "https":
            let text = try field.value.string("\(what)https")
            guard let policy = HTTPSPolicy(rawValue: text.lowercased()) else {
                throw field.value.error("https is redirect or allow, not '\(text)'")
            }
            settings.https = policy
        case "hsts":
            settings.hsts = try hsts(field.value, "\(what)hsts")
        default:
            return false
        }
        return true
    }

    static func tlsSource(_ value: YAMLValue, _ what: String) throws -> TLSSource {
        if let mapping = try? value.mapping(what) {
            var certificate: String?
            var key: String?
            for field in mapping {
                switch field.key {
                case "certificate", "cert": certificate = try field.value.string("\(what).certificate")
                case "key": key = try field.value.string("\(what).key")
                default:
                    throw SpecError(
                        at: field.keyLocation, "unknown key '\(what).\(field.key)': use certificate and key")
                }
            }
            guard let certificate, !certificate.isEmpty, let key, !key.isEmpty else {
                throw value.error("\(what) needs both certificate: FILE and key: FILE")
            }
            return .files(certificate: certificate, key: key)
        }
        let text = try value.string(what)
        switch text.lowercased() {
        case "acme": return .acme
        case "off", "false", "no": return .off
        default:
            throw value.error("\(what) is acme, off or { certificate: FILE, key: FILE }, not '\(text)'")
        }
    }

    static func hsts(_ value: YAMLValue, _ what: String) throws -> HSTSPolicy {
        if let mapping = try? value.mapping(what) {
            var policy = HSTSPolicy(maxAge: -1)
            for field in mapping {
                switch field.key {
                case "maxAge": policy.maxAge = try duration(field.value, "\(what).maxAge", allowZero: true)
                case "includeSubDomains": policy.includeSubDomains = try field.value.bool("\(what).includeSubDomains")
                case "preload": policy.preload = try field.value.bool("\(what).preload")
                default:
                    throw SpecError(
                        at: field.keyLocation,
                        "unknown key '\(what).\(field.key)': use maxAge, includeSubDomains, preload")
                }
            }
            guard policy.maxAge >= 0 else { throw value.error("\(what) needs maxAge: such as 180d") }
            if policy.preload && (!policy.includeSubDomains || policy.maxAge < 31_536_000) {
                throw value.error("\(what).preload needs includeSubDomains: true and a maxAge of at least 365d")
            }
            return policy
        }
        return HSTSPolicy(maxAge: try duration(value, what, allowZero: true))
    }

    /// Gives every branch and preview rule the site's TLS settings where they set none, and resolves
    /// certificate files against the Sites file's folder.
    static func applyTLSDefaults(_ site: inout SiteConfig, _ defaults: TLSSettings, baseDirectory: String) {
        func resolve(_ settings: TLSSettings) -> TLSSettings {
            var out = settings.over(defaults)
            if case .files(let certificate, let key) = out.tls {
                out.tls = .files(
                    certificate: resolveRepository(certificate, baseDirectory: baseDirectory),
                    key: resolveRepository(key, baseDirectory: baseDirectory))
            }
            return out
        }
        site.tls = resolve(TLSSettings())
        for index in site.branches.indices {
            site.branches[index].settings.tls = resolve(site.branches[index].settings.tls)
        }
        for index in site.previews.indices {
            site.previews[index].settings.tls = resolve(site.previews[index].settings.tls)
        }
        if var rule = site.pullRequests {
            rule.settings.tls = resolve(rule.settings.tls)
            site.pullRequests = rule
        }
    }
}
