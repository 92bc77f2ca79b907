import Foundation

extension RulesSpec {
    // MARK: Amplify

    /// Amplify's `redirects.json` (the console's export): a JSON array of
    /// `{ "source", "target", "status", "condition" }`. Errors carry the line of the rule. A
    /// `condition` (a country code, `<US>`) is accepted only with `capabilities.geoIP`.
    public static func parseAmplifyRedirects(
        json: String, file: String, capabilities: RuleCapabilities = .basic
    ) throws -> [RedirectRule] {
        try readAmplifyRedirects(json: json, file: file, capabilities: capabilities).rules
    }

    /// `parseAmplifyRedirects`, with its warnings (unknown keys, rewrites Canopy answers otherwise).
    public static func readAmplifyRedirects(
        json: String, file: String, capabilities: RuleCapabilities = .basic
    ) throws -> ParsedRules<RedirectRule> {
        // JSON is YAML flow syntax: reading it through the YAML parser gives every value its line.
        let root = try YAMLValue.parse(json, file: file)
        guard case .sequence = root.node else { throw root.error("redirects.json must be a JSON array of rules") }
        var warnings: [SpecDiagnostic] = []
        let rules = try amplifyRedirects(root, warnings: &warnings, capabilities: capabilities)
        return ParsedRules(rules: rules, warnings: warnings)
    }

    /// Amplify rules written as a list (in a Sites file or redirects.json).
    static func amplifyRedirects(
        _ list: YAMLValue, warnings: inout [SpecDiagnostic], capabilities: RuleCapabilities
    ) throws -> [RedirectRule] {
        var findings = DiagnosticCollector()
        var rules: [RedirectRule] = []
        for item in try list.items("redirects") {
            findings.attempt { findings in
                var source: String?
                var target: String?
                var status = "301"
                var condition: String?
                var conditionAt = item.location
                for field in try item.mapping("a redirect rule") {
                    switch field.key {
                    case "source": source = try field.value.string("source")
                    case "target": target = try field.value.string("target")
                    case "status": status = try field.value.string("status")
                    case "condition":
                        condition = field.value.isNull ? nil : try field.value.string("condition")
                        conditionAt = field.value.location
                    default:
                        findings.warn(field.keyLocation, "unknown key '\(field.key)' in a redirect rule is ignored")
                    }
                }
                guard let source, !source.isEmpty else { throw item.error("a redirect rule needs a source") }
                guard let target, !target.isEmpty else { throw item.error("a redirect rule needs a target") }
                let countries = try amplifyCountries(condition, at: conditionAt, capabilities)
                let parsedStatus: RedirectRule.Status
                let code = status.trimmingCharacters(in: .whitespaces)
                switch code {
                case "200": parsedStatus = .rewrite
                case "301", "302", "307", "308": parsedStatus = .redirect(Int(code)!)
                case "404": parsedStatus = .notFound
                case "404-200": parsedStatus = .notFoundRewrite
                default:
                    throw item.error(
                        "status '\(status)' is not one Amplify knows: 200, 301, 302, 307, 308, 404 or 404-200")
                }
                var syntax = RedirectRule.Syntax.amplify
                var pattern = source
                if source.hasPrefix("</") && source.hasSuffix("/>") && source.count >= 4 {
                    syntax = .regex
                    pattern = String(source.dropFirst(2).dropLast(2))
                    do {
                        _ = try NSRegularExpression(pattern: pattern)
                    } catch {
                        throw item.error(
                            "the regular expression \(source) does not compile: \(error.localizedDescription)")
                    }
                } else if !source.hasPrefix("/") && !source.hasPrefix("http://") && !source.hasPrefix("https://") {
                    throw item.error(
                        "a source is a path (/old), a domain (https://example.com) or a regex (</…/>), not '\(source)'")
                }
                if parsedStatus == .rewrite || parsedStatus == .notFoundRewrite, let error = proxyTargetError(target) {
                    throw item.error(error)
                }
                rules.append(
                    RedirectRule(
                        source: pattern, target: target, status: parsedStatus, syntax: syntax,
                        force: parsedStatus != .notFound && parsedStatus != .notFoundRewrite, countries: countries,
                        location: item.location))
            }
        }
        try findings.throwIfErrors()
        warnings += findings.warnings
        return rules
    }

    /// Amplify's `condition`: a country code as its documentation writes it, `<US>` ("Region-based
    /// redirects", docs.aws.amazon.com/amplify/latest/userguide/redirect-rewrite-examples.html), or
    /// bare (`US`); any case. None for no condition (absent, null or empty). Applied without its
    /// condition, the rule would send every visitor where only some should go: without a GeoIP
    /// database, or for a condition that is not a country code, the rule is refused at its line.
    static func amplifyCountries(
        _ condition: String?, at location: SourceLocation, _ capabilities: RuleCapabilities
    ) throws -> [String] {
        guard let condition else { return [] }
        let written = condition.trimmingCharacters(in: .whitespaces)
        guard !written.isEmpty else { return [] }
        var code = Substring(written)
        if code.hasPrefix("<") && code.hasSuffix(">") && code.count > 2 { code = code.dropFirst().dropLast() }
        let upper = code.trimmingCharacters(in: .whitespaces).uppercased()
        guard upper.count == 2, upper.unicodeScalars.allSatisfy({ $0.value >= 65 && $0.value <= 90 }) else {
            throw SpecError(
                at: location,
                "condition '\(condition)' is not a country code: Amplify's condition is a two-letter ISO 3166 code such as <US>"
            )
        }
        guard capabilities.geoIP else { throw SpecError(at: location, countryNeedsGeoIP("condition '\(condition)'")) }
        return [upper]
    }

    /// `customHttp.yml`: `customHeaders: - pattern: '**/*' headers: - key: X value: Y`, or Amplify's
    /// monorepo form, `applications: - appRoot: app customHeaders: …`
    /// (docs.aws.amazon.com/amplify/latest/userguide/custom-headers.html, "Monorepo custom headers").
    /// In that form `appRoot` picks the application's rules; without one, every application's rules
    /// are checked and returned (what `canopy validate` wants).
    public static func parseCustomHTTP(yaml: String, file: String, appRoot: String? = nil) throws -> [HeaderRule] {
        try readCustomHTTP(yaml: yaml, file: file, appRoot: appRoot).rules
    }

    /// `parseCustomHTTP`, with its warnings: each header the server sets itself (and so ignores),
    /// at its line.
    public static func readCustomHTTP(
        yaml: String, file: String, appRoot: String? = nil
    ) throws -> ParsedRules<HeaderRule> {
        let root = try YAMLValue.parse(yaml, file: file)
        var findings = DiagnosticCollector()
        var rules: [HeaderRule] = []
        for entry in try root.mapping("customHttp.yml") {
            switch entry.key {
            case "customHeaders": rules = try headerRules(entry.value, &findings)
            case "applications": rules = try applicationHeaderRules(entry.value, appRoot: appRoot, &findings)
            default:
                throw SpecError(
                    at: entry.keyLocation, "customHttp.yml has customHeaders (or applications), not '\(entry.key)'")
            }
        }
        return ParsedRules(rules: rules, warnings: findings.warnings)
    }

    /// Whether a customHttp.yml is in the monorepo form (`applications:` at the top).
    public static func isMonorepoCustomHTTP(_ yaml: String) -> Bool {
        yaml.split(whereSeparator: \.isNewline).contains { $0.hasPrefix("applications:") }
    }

    private static func applicationHeaderRules(
        _ list: YAMLValue, appRoot: String?, _ findings: inout DiagnosticCollector
    ) throws -> [HeaderRule] {
        var all: [HeaderRule] = []
        var roots: [String] = []
        for item in try list.items("applications") {
            var root: String?
            var rules: [HeaderRule] = []
            for field in try item.mapping("an application") {
                switch field.key {
                case "appRoot": root = try field.value.string("appRoot")
                case "customHeaders": rules = try headerRules(field.value, &findings)
                default:
                    throw SpecError(
                        at: field.keyLocation, "an application has appRoot and customHeaders, not '\(field.key)'")
                }
            }
            guard let root else { throw item.error("an application in customHttp.yml needs its appRoot") }
            let normalised = root.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            roots.append(normalised)
            if let appRoot {
                if normalised == appRoot.trimmingCharacters(in: CharacterSet(charactersIn: "/")) { return rules }
            } else {
                all += rules
            }
        }
        if appRoot != nil { return [] }  // this application has no custom headers
        return all
    }

    /// A `customHeaders` list (customHttp.yml, amplify.yml, a Sites file). A header the server sets
    /// itself (`HeaderField.serverSetNames`: Content-Length, Transfer-Encoding, …) is dropped with a
    /// warning at its line, as `_headers` does: the edge would never send it.
    static func headerRules(_ list: YAMLValue, _ findings: inout DiagnosticCollector) throws -> [HeaderRule] {
        try list.items("customHeaders").map { item in
            var pattern: String?
            var headers: [HeaderField] = []
            for field in try item.mapping("a customHeaders rule") {
                switch field.key {
                case "pattern": pattern = try field.value.string("pattern")
                case "headers":
                    for header in try field.value.items("headers") {
                        var key: String?
                        var keyAt = header.location
                        var value: String?
                        for kv in try header.mapping("a header") {
                            switch kv.key {
                            case "key":
                                key = try kv.value.string("key")
                                keyAt = kv.value.location
                            case "value": value = try kv.value.string("value")
                            default: throw SpecError(at: kv.keyLocation, "a header has key and value, not '\(kv.key)'")
                            }
                        }
                        guard let key, !key.isEmpty, let value else {
                            throw header.error("a header needs key and value")
                        }
                        guard isToken(key) else { throw header.error("'\(key)' is not a valid header name") }
                        guard !value.contains("\n") && !value.contains("\r") else {
                            throw header.error("a header value cannot span lines")
                        }
                        guard !HeaderField.isServerSet(key) else {
                            findings.warn(keyAt, serverSetWarning(key, netlify: false))
                            continue
                        }
                        headers.append(HeaderField(name: key, value: value))
                    }
                default:
                    throw SpecError(
                        at: field.keyLocation, "a customHeaders rule has pattern and headers, not '\(field.key)'")
                }
            }
            guard let pattern, !pattern.isEmpty else { throw item.error("a customHeaders rule needs a pattern") }
            return HeaderRule(pattern: pattern, headers: headers, location: item.location)
        }
    }

    static func isToken(_ name: String) -> Bool {
        !name.isEmpty
            && name.unicodeScalars.allSatisfy {
                $0.isASCII && $0.value > 32 && $0.value < 127 && !"()<>@,;:\\\"/[]?={}".unicodeScalars.contains($0)
            }
    }
}
