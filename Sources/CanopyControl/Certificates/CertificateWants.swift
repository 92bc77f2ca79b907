import CanopySpec
import Foundation

/// A routed hostname and where its certificate comes from (its `tls:`), as the route publisher
/// last published it.
struct CertificateSource: Sendable, Hashable {
    var hostname: String
    var site: String
    /// The hostname's `tls:`; nil is the default (ACME when the server has an account configured).
    var tls: TLSSource?
}

/// One certificate the ACME manager keeps: a hostname, or `*.x.y` for a site's preview hostnames.
struct CertificateWant: Sendable, Hashable {
    /// The name ordered: a hostname or `*.x.y`.
    var name: String
    /// The site whose Sites file asks for it.
    var site: String
    /// The site's `acme.dns.rfc2136`, for DNS-01 (the only way to a wildcard).
    var dns: RFC2136Settings?

    var isWildcard: Bool { name.hasPrefix("*.") }
}

/// Which certificates to keep, from the Sites files alone: never from a TLS handshake's SNI, so
/// that nobody can make Canopy spend the account's rate limits on names it does not serve.
///
/// - Each routed hostname whose `tls:` is `acme` (or unset, when ACME is the server's default)
///   gets a certificate of its own.
/// - A site with `acme.dns.rfc2136` gets one `*.x.y` certificate (DNS-01) for each preview,
///   pull-request or per-commit domain template whose placeholders are all in the first label
///   (`{branch}.preview.example.com` → `*.preview.example.com`). Hostnames it covers get no
///   certificate of their own, so a new preview waits for no order and its name is never written
///   to certificate-transparency logs.
enum CertificateWants {
    static func compute(
        sources: [CertificateSource], sites: [String: SiteConfig], acmeByDefault: Bool
    )
        -> [CertificateWant]
    {
        var wants: [String: CertificateWant] = [:]
        var wildcards: [String: Set<String>] = [:]  // site → its wildcard names
        for site in sites.values {
            guard let dns = site.acme?.rfc2136 else { continue }
            var templates = site.previews.filter { wantsACME($0.settings.tls.tls, acmeByDefault) }.map(\.domain)
            if let rule = site.pullRequests, wantsACME(rule.settings.tls.tls, acmeByDefault) {
                templates.append(rule.domain)
            }
            if let commit = site.commitDomain, wantsACME(site.tls.tls, acmeByDefault) { templates.append(commit) }
            for template in templates {
                guard let name = wildcard(forTemplate: template, site: site.name) else { continue }
                wildcards[site.name, default: []].insert(name)
                wants[name] = wants[name] ?? CertificateWant(name: name, site: site.name, dns: dns)
            }
        }
        for source in sources where wantsACME(source.tls, acmeByDefault) && canOrder(source.hostname) {
            let host = source.hostname.lowercased()
            if wildcards[source.site]?.contains(coveringWildcard(of: host)) == true { continue }
            wants[host] =
                wants[host] ?? CertificateWant(name: host, site: source.site, dns: sites[source.site]?.acme?.rfc2136)
        }
        return wants.values.sorted { $0.name < $1.name }
    }

    /// The wildcard that covers a hostname: `a.b.c` → `*.b.c` (a wildcard covers one label).
    static func coveringWildcard(of hostname: String) -> String {
        "*." + hostname.lowercased().split(separator: ".", maxSplits: 1).dropFirst().joined()
    }

    static func wantsACME(_ source: TLSSource?, _ acmeByDefault: Bool) -> Bool {
        switch source {
        case .acme: true
        case nil: acmeByDefault
        case .off, .files: false
        }
    }

    /// `{branch}.preview.example.com` → `*.preview.example.com`; nil when a placeholder is
    /// outside the first label or the rest is not a name a CA issues for.
    static func wildcard(forTemplate template: String, site: String) -> String? {
        let filled = template.replacingOccurrences(of: "{site}", with: DNSLabel.make(site)).lowercased()
        let labels = filled.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard labels.count == 2, labels[0].contains("{"), !labels[1].contains("{") else { return nil }
        let rest = String(labels[1])
        guard canOrder(rest) else { return nil }
        return "*." + rest
    }

    /// Whether a CA could issue for the name at all: not an IP address, not `localhost`, at least
    /// two labels.
    static func canOrder(_ hostname: String) -> Bool {
        let host = hostname.lowercased()
        guard host.contains("."), !host.hasSuffix("."), host != "localhost", !host.hasSuffix(".localhost") else {
            return false
        }
        if host.allSatisfy({ $0.isNumber || $0 == "." }) || host.contains(":") { return false }
        return true
    }
}
