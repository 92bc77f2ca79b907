import CanopySpec
import CanopyStore
import Foundation

/// A deployment's redirect, rewrite and header rules, compiled once at load: the Sites file's own,
/// then `redirects.json` (Amplify), then `_redirects` and `netlify.toml` (Netlify); headers from the
/// Sites file, `customHttp.yml`, `_headers` and `netlify.toml`.
struct CompiledRules: Sendable {
    let redirects: [CompiledRedirect]
    let headerRules: [CompiledHeaderRule]
    /// Some rule proxies to an upstream (so requests other than GET and HEAD may be answered).
    var hasProxy: Bool { redirects.contains { $0.upstream != nil } }

    var isEmpty: Bool { redirects.isEmpty }

    /// Some rule applies only to visitors of given countries (it needs the edge's GeoIP database).
    var hasCountryRules: Bool { redirects.contains { !$0.rule.countries.isEmpty } }

    /// `capabilities`: what the edge evaluates; a rule file with a condition it cannot evaluate (a
    /// Country condition without a GeoIP database) fails to load, with its line.
    static func load(
        manifest: DeploymentManifest, siteRules: SiteRules, capabilities: RuleCapabilities = .basic,
        read: (String) throws -> String
    ) throws -> CompiledRules {
        var redirects = siteRules.redirects
        var headers = siteRules.headers
        func text(_ name: String) throws -> String? {
            guard let entry = manifest.files[name] else { return nil }
            return try read(entry.sha256)
        }
        if let json = try text("redirects.json") {
            redirects += try RulesSpec.parseAmplifyRedirects(
                json: json, file: "redirects.json", capabilities: capabilities)
        }
        if let netlify = try text("_redirects") {
            redirects += try RulesSpec.parseNetlifyRedirects(netlify, file: "_redirects", capabilities: capabilities)
        }
        if let yaml = try text("customHttp.yml") {
            headers += try RulesSpec.parseCustomHTTP(yaml: yaml, file: "customHttp.yml")
        }
        var netlifyHeaders: [HeaderRule] = []
        if let netlify = try text("_headers") {
            netlifyHeaders += try RulesSpec.parseNetlifyHeaders(netlify, file: "_headers")
        }
        // netlify.toml after _redirects, as Netlify orders them.
        if let toml = try text("netlify.toml") {
            let config = try RulesSpec.parseNetlifyTOML(toml, file: "netlify.toml", capabilities: capabilities)
            redirects += config.redirects
            netlifyHeaders += config.headers
        }
        var compiled = headers.enumerated().map { CompiledHeaderRule(rule: $1, order: $0) }
        for rule in netlifyHeaders { compiled.append(CompiledHeaderRule(netlify: rule, order: compiled.count)) }
        return CompiledRules(redirects: try redirects.map(CompiledRedirect.init), headerRules: compiled)
    }

    /// Custom headers of a response to `requestPath` (the URL path asked for), or nil when the
    /// deployment has no header rules (the common case, which then costs nothing).
    func customHeaders(for requestPath: String, file: String? = nil) -> CustomHeaders? {
        guard !headerRules.isEmpty else { return nil }
        let found = headers(for: requestPath, file: file)
        return CustomHeaders(cacheControl: found.cacheControl, lines: found.lines)
    }

    /// Custom headers for a path: for each header name the most specific matching pattern wins, ties
    /// to the later rule. Cache-Control is returned apart, as it replaces the default.
    /// Netlify rules (`_headers`, netlify.toml) match the requested path only; Amplify's globs
    /// (customHttp.yml, the Sites file) match it or the served file's path (`/about` served from
    /// `about.html` still gets a `*.html` rule, as it did before clean URLs were matched).
    func headers(for path: String, file: String? = nil) -> (cacheControl: String?, lines: [UInt8]) {
        var winners: [String: (specificity: Int, order: Int, field: HeaderField)] = [:]
        for rule in headerRules
        where rule.matches(path) || (rule.netlify == nil && file != nil && file != path && rule.matches(file!)) {
            // (Fields the server sets itself are not a rule's: customHttp.yml and the Sites file too.)
            for field in rule.rule.headers where !HeaderField.isServerSet(field.name) {
                let key = field.name.lowercased()
                if let current = winners[key], (current.specificity, current.order) > (rule.specificity, rule.order) {
                    continue
                }
                winners[key] = (rule.specificity, rule.order, field)
            }
        }
        let cacheControl = winners.removeValue(forKey: "cache-control")?.field.value
        var lines = ""
        for key in winners.keys.sorted() {
            let field = winners[key]!.field
            lines += "\(field.name): \(field.value)\r\n"
        }
        return (cacheControl, Array(lines.utf8))
    }

    enum Outcome {
        case redirect(status: Int, location: String, forwardQuery: Bool)
        case rewrite(path: String)
        /// A rewrite to an absolute URL: the request goes to the rule's upstream.
        case proxy(ProxyTarget, forwardQuery: Bool)
        /// The target's content with this status (404, 410, …).
        case serve(path: String, status: Int)
    }

    /// The first rule (top-down) that applies to this request. `fileExists` tells whether the path
    /// resolves to a file (404, 404-200 and unforced Netlify rules apply only when it does not).
    /// `vary` collects the request fields that conditions of rules matching the path read
    /// (Accept-Language, Cookie): the answer depends on them, and says so with `Vary`. `country`
    /// gives the visitor's country (asked only of a rule with a Country condition that matches the
    /// path); no request field carries it, so it adds nothing to `Vary`, as on Netlify.
    func evaluate(
        path: String, query: String, host: String, acceptLanguage: String?, cookie: String?,
        country: () -> String? = { nil }, vary: inout RuleVary, fileExists: () -> Bool
    ) -> Outcome? {
        var exists: Bool?
        for rule in redirects {
            guard let substituted = rule.match(path: path, query: query, host: host) else { continue }
            if !rule.rule.languages.isEmpty {
                vary.insert(.language)
                if !LanguageCondition.matches(rule.rule.languages, acceptLanguage: acceptLanguage) { continue }
            }
            if !rule.rule.cookies.isEmpty {
                vary.insert(.cookie)
                if !CookieCondition.matches(rule.rule.cookies, cookie: cookie) { continue }
            }
            if !rule.rule.countries.isEmpty {
                guard let visitor = country(), rule.rule.countries.contains(visitor) else { continue }
            }
            if !rule.applies(whenFileExists: {
                exists
                    ?? {
                        exists = fileExists(); return exists!
                    }()
            }) {
                continue
            }
            switch rule.rule.status {
            case .redirect(let code):
                return .redirect(status: code, location: substituted, forwardQuery: rule.forwardsQuery)
            case .rewrite, .notFoundRewrite:
                if let upstream = rule.upstream {
                    // The upstream is the rule's, compiled once; only the path comes from the request.
                    guard substituted.hasPrefix(upstream.origin) else { continue }
                    var uri = String(substituted.dropFirst(upstream.origin.count))
                    if !uri.hasPrefix("/") { uri = "/" + uri }
                    let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
                    uri = ProxyHeaders.encodePath(String(parts[0])) + (parts.count > 1 ? "?" + parts[1] : "")
                    let target = ProxyTarget(upstream: upstream, uri: uri, headers: rule.rule.proxyHeaders)
                    return .proxy(target, forwardQuery: rule.forwardsQuery)
                }
                return .rewrite(path: substituted)
            case .notFound: return .serve(path: substituted, status: 404)
            case .content(let code): return .serve(path: substituted, status: code)
            }
        }
        return nil
    }
}

/// Header lines chosen for one response, and the Cache-Control that replaces the default, if any.
struct CustomHeaders: Sendable {
    let cacheControl: String?
    let lines: [UInt8]
}

/// One compiled header rule: an Amplify glob (`customHttp.yml`, the Sites file), or a Netlify path
/// pattern (`_headers`).
struct CompiledHeaderRule: Sendable {
    let rule: HeaderRule
    let order: Int
    let glob: Glob?
    let netlify: NetlifyPathPattern?
    let basenameOnly: Bool
    /// Literal characters in the pattern: more means more specific.
    let specificity: Int

    init(rule: HeaderRule, order: Int) {
        self.rule = rule
        self.order = order
        var pattern = rule.pattern
        if !pattern.hasPrefix("/") && pattern.contains("/") { pattern = "/" + pattern }
        basenameOnly = !pattern.contains("/")
        glob = Glob(pattern)
        netlify = nil
        specificity = rule.pattern.filter { !"*?[]{}".contains($0) }.count
    }

    init(netlify rule: HeaderRule, order: Int) {
        self.rule = rule
        self.order = order
        let pattern = NetlifyPathPattern(rule.pattern)
        netlify = pattern
        glob = nil
        basenameOnly = false
        specificity = pattern.specificity
    }

    func matches(_ path: String) -> Bool {
        if let netlify { return netlify.matches(path) }
        guard let glob else { return false }
        if basenameOnly {
            let name = path.split(separator: "/").last.map(String.init) ?? ""
            return glob.matches(name)
        }
        return glob.matches(path)
    }
}

/// One compiled redirect or rewrite rule.
struct CompiledRedirect: Sendable {
    let rule: RedirectRule
    let host: String?
    let segments: [Segment]
    let regex: NSRegularExpressionBox?
    /// Query parameters the source requires: name → placeholder (or literal value).
    let queryPlaceholders: [(String, String)]
    /// The target gets the request path appended (an Amplify domain redirect).
    let appendsPath: Bool
    /// A redirect passes the request's query on to the target (when the target has none).
    let forwardsQuery: Bool
    /// Where a proxy rule connects; nil for every other rule.
    let upstream: ProxyUpstream?

    enum Segment: Sendable {
        case literal(String)
        case named(String)
        /// The rest of the path (`<*>`, `*`).
        case splat
    }

    init(_ rule: RedirectRule) throws {
        self.rule = rule
        upstream = rule.isProxy ? ProxyUpstream(target: rule.target) : nil
        if rule.isProxy && upstream == nil {
            throw SpecError(
                at: rule.location ?? SourceLocation(file: "rules", line: 0, column: 0),
                RulesSpec.proxyTargetError(rule.target) ?? "\(rule.target) is not a URL to proxy to")
        }
        var source = rule.source
        var host: String?
        var bareDomain = false
        for scheme in ["https://", "http://"] where source.hasPrefix(scheme) {
            let rest = source.dropFirst(scheme.count)
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            host = rest[..<slash].lowercased()
            bareDomain = rest[slash...].isEmpty || rest[slash...] == "/"
            source = bareDomain ? "/<*>" : String(rest[slash...])
        }
        self.host = host
        // Amplify's domain redirect (`https://example.com` → `https://www.example.com`) keeps the
        // path: the request path is appended to a target that does not place it itself.
        appendsPath = bareDomain && rule.syntax == .amplify && !rule.target.contains("<*>")
        var query: [(String, String)] = rule.queryMatches.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        if let q = source.firstIndex(of: "?"), rule.syntax != .regex {
            for pair in source[source.index(after: q)...].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                query.append((String(kv[0]), kv.count > 1 ? String(kv[1]) : ""))
            }
            source = String(source[..<q])
        }
        self.queryPlaceholders = query
        // Amplify: a rule that matches on a query value (`/docs?id=<id>`) does not pass the query on.
        forwardsQuery = rule.syntax != .amplify || query.isEmpty
        if rule.syntax == .regex {
            regex = NSRegularExpressionBox(try NSRegularExpression(pattern: rule.source))
            segments = []
        } else {
            regex = nil
            segments = source.split(separator: "/").map { part in
                let p = String(part)
                if p == "<*>" || p == "*" { return .splat }
                if p.hasPrefix("<") && p.hasSuffix(">") { return .named(String(p.dropFirst().dropLast())) }
                if p.hasPrefix(":") { return .named(String(p.dropFirst())) }
                return .literal(p)
            }
        }
    }

    /// Netlify: a rule shadows an existing file only when forced (`!`), whatever its status, so a
    /// `404!` answers 404 even where a file exists. Amplify: 404 and 404-200 rules apply only where
    /// no file exists; its rewrites and redirects always apply.
    func applies(whenFileExists fileExists: () -> Bool) -> Bool {
        if rule.syntax == .netlify { return rule.force || !fileExists() }
        switch rule.status {
        case .notFound, .notFoundRewrite, .content: return !fileExists()
        default: return true
        }
    }

    /// The target with placeholders filled when this rule matches; nil when it does not.
    func match(path: String, query: String, host requestHost: String) -> String? {
        if let host, host != requestHost { return nil }
        var values: [String: String] = [:]
        var queryValues: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            queryValues[String(kv[0])] = kv.count > 1 ? String(kv[1]) : ""
        }
        for (name, placeholder) in queryPlaceholders {
            guard let value = queryValues[name] else { return nil }
            if placeholder.hasPrefix(":") {
                values[String(placeholder.dropFirst())] = value
            } else if placeholder.hasPrefix("<") && placeholder.hasSuffix(">") {
                values[String(placeholder.dropFirst().dropLast())] = value
            } else if placeholder != value {
                return nil
            }
        }
        var target = rule.target
        if let regex {
            let range = NSRange(path.startIndex..., in: path)
            guard let m = regex.regex.firstMatch(in: path, range: range) else { return nil }
            for i in stride(from: min(m.numberOfRanges - 1, 9), through: 1, by: -1) {
                let group = Range(m.range(at: i), in: path).map { String(path[$0]) } ?? ""
                target = target.replacingOccurrences(of: "$\(i)", with: group)
            }
            return target
        }
        let parts = path.split(separator: "/").map(String.init)
        var i = 0
        var splat: String?
        for segment in segments {
            switch segment {
            case .literal(let text):
                guard i < parts.count, parts[i] == text else { return nil }
                i += 1
            case .named(let name):
                guard i < parts.count else { return nil }
                values[name] = parts[i]
                i += 1
            case .splat:
                splat = parts[i...].joined(separator: "/")
                i = parts.count
            }
        }
        guard i == parts.count else { return nil }
        if appendsPath {
            while target.hasSuffix("/") { target.removeLast() }
            return target + path
        }
        if let splat {
            target = target.replacingOccurrences(of: "<*>", with: splat).replacingOccurrences(of: ":splat", with: splat)
        }
        for (name, value) in values.sorted(by: { $0.key.count > $1.key.count }) {
            target = target.replacingOccurrences(of: "<\(name)>", with: value).replacingOccurrences(
                of: ":\(name)", with: value)
        }
        return target
    }
}

/// NSRegularExpression is immutable once made and documented as safe to use from several threads.
struct NSRegularExpressionBox: @unchecked Sendable {
    // @unchecked: NSRegularExpression instances are immutable and thread-safe for matching.
    let regex: NSRegularExpression
    init(_ regex: NSRegularExpression) { self.regex = regex }
}
