/// A redirect or rewrite rule, from Amplify's `redirects.json`, a Sites file, or Netlify's
/// `_redirects`, normalised to one form. The edge compiles and evaluates these top-down.
public struct RedirectRule: Sendable, Hashable {
    public enum Status: Sendable, Hashable {
        /// 200: serve the target's content under the source URL.
        case rewrite
        /// 301 or 302 (307/308 accepted too): send the visitor to the target.
        case redirect(Int)
        /// 404: answer 404 with the target's content.
        case notFound
        /// Another 4xx or 5xx status (Netlify's `410`, `403`, `451`, …): the target's content with
        /// this status, as 404 does.
        case content(Int)
        /// Amplify's `404-200`: rewrite to the target, with status 200, only when no file matches.
        case notFoundRewrite
    }

    /// How `source` is written.
    public enum Syntax: Sendable, Hashable {
        /// Amplify path with `<*>` and `<name>` placeholders (and `?key=<value>` query matches).
        case amplify
        /// Amplify regex source `</…/>`; targets may use `$1` capture groups.
        case regex
        /// Netlify path with `*` splat and `:name` placeholders (and `key=:value` query matches).
        case netlify
    }

    public var source: String
    public var target: String
    public var status: Status
    public var syntax: Syntax
    /// Netlify's `!`: apply even when a file exists at the source path. Amplify rewrites and
    /// redirects are always forced; 404 and 404-200 rules apply only when no file exists.
    public var force: Bool
    /// Netlify's `Country=us,de` condition and Amplify's `condition` (`<US>`), as uppercase ISO 3166
    /// codes: the rule applies only to a visitor whose address the server's GeoIP database places in
    /// one of these countries. Empty: no condition. The parsers accept one only when the server has
    /// a GeoIP database (`RuleCapabilities.geoIP`).
    public var countries: [String]
    /// Netlify query matches (`id=:id`), in order.
    public var queryMatches: [String: String]
    /// Netlify's `Language=en,fr` condition, lowercased: the rule applies only when the request's
    /// `Accept-Language` names one of these (a bare `en` also matches `en-US`). Empty: no condition.
    public var languages: [String]
    /// Netlify's `Cookie=name,other` condition: the rule applies only when the request carries a
    /// cookie of one of these names. Empty: no condition.
    public var cookies: [String]
    /// netlify.toml's `headers = {…}` of a proxy rule: sent to the upstream with the request.
    public var proxyHeaders: [HeaderField] = []
    public var location: SourceLocation?

    /// A 200 (or Amplify 404-200) rewrite to an absolute `http(s)://` URL: the edge proxies the
    /// request to it (docs.netlify.com/routing/redirects/rewrites-proxies, "Proxy to another
    /// service"; docs.aws.amazon.com/amplify/latest/userguide/redirects.html, "Reverse proxy rewrite").
    public var isProxy: Bool {
        guard status == .rewrite || status == .notFoundRewrite else { return false }
        return target.hasPrefix("http://") || target.hasPrefix("https://")
    }

    public init(
        source: String, target: String, status: Status, syntax: Syntax, force: Bool,
        countries: [String] = [], queryMatches: [String: String] = [:], languages: [String] = [],
        cookies: [String] = [], location: SourceLocation? = nil
    ) {
        self.source = source
        self.target = target
        self.status = status
        self.syntax = syntax
        self.force = force
        self.countries = countries
        self.queryMatches = queryMatches
        self.languages = languages
        self.cookies = cookies
        self.location = location
    }
}

/// Custom response headers for the paths a pattern matches: from `customHttp.yml`,
/// amplify.yml's `customHeaders`, a Sites file, or Netlify's `_headers`.
public struct HeaderRule: Sendable, Hashable {
    /// A glob over the request path (`**/*`, `*.css`, `/assets/**`), or a Netlify path pattern.
    public var pattern: String
    public var headers: [HeaderField]
    public var location: SourceLocation?

    public init(pattern: String, headers: [HeaderField], location: SourceLocation? = nil) {
        self.pattern = pattern
        self.headers = headers
        self.location = location
    }
}

public struct HeaderField: Sendable, Hashable {
    public var name: String
    public var value: String

    /// Fields the server itself sets to frame and route a response; a custom header rule cannot set
    /// them. Netlify's list ("Custom headers", Limitations: "Custom headers for these are typically
    /// ignored because Netlify's web servers need to set these headers to work properly",
    /// docs.netlify.com/routing/headers); Amplify documents none, so the same list applies to
    /// customHttp.yml and the Sites file (Set-Cookie, which Netlify "may" override, is left to the
    /// rules; a second Content-Length or a Transfer-Encoding would break
    /// the response's framing, a second Location a redirect).
    public static let serverSetNames: Set<String> = [
        "accept-ranges", "age", "allow", "alt-svc", "connection", "content-encoding", "content-length",
        "content-range", "date", "location", "server", "trailer", "transfer-encoding", "upgrade",
        "keep-alive", "proxy-connection", "te",
    ]

    /// Whether `name` (any case) is one of `serverSetNames`.
    public static func isServerSet(_ name: String) -> Bool { serverSetNames.contains(name.lowercased()) }

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A user name and password that protect a branch or preview (HTTP basic auth).
public struct BasicCredential: Sendable, Hashable {
    public var user: String
    public var password: String

    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }
}
