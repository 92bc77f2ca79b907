import Foundation

/// Rules read from a file, with the warnings about lines that were skipped (and why).
public struct ParsedRules<Rule: Sendable & Hashable>: Sendable, Hashable {
    public var rules: [Rule]
    public var warnings: [SpecDiagnostic]

    public init(rules: [Rule], warnings: [SpecDiagnostic]) {
        self.rules = rules
        self.warnings = warnings
    }
}

extension RulesSpec {
    /// Netlify's `_redirects`. Each line is `from [query…] to [status[!]] [conditions…]`, as Netlify's
    /// own parser reads it (netlify/build, packages/redirect-parser/src/line_parser.js):
    /// - a status right after `from` is a status, not a target: `/admin/* 200` rewrites the path onto
    ///   itself (`to` becomes `/admin/:splat`);
    /// - a line without a target is dropped with a warning, as Netlify drops it;
    /// - a target that is neither a path nor an http(s) URL is an error at its line;
    /// - conditions: `Language=` is evaluated against `Accept-Language`, `Cookie=` against the cookies
    ///   sent, `Country=` against the server's GeoIP database (only when `capabilities` says it has
    ///   one); any other (`Role=`, `Signed=`, …), or `Country=` without a database, is an error,
    ///   because a rule applied without its condition would send everyone where only some visitors
    ///   should go.
    public static func parseNetlifyRedirects(
        _ text: String, file: String, capabilities: RuleCapabilities = .basic
    ) throws -> [RedirectRule] {
        try readNetlifyRedirects(text, file: file, capabilities: capabilities).rules
    }

    /// `parseNetlifyRedirects`, with the warnings about lines that were dropped.
    public static func readNetlifyRedirects(
        _ text: String, file: String, capabilities: RuleCapabilities = .basic
    ) throws -> ParsedRules<RedirectRule> {
        var findings = DiagnosticCollector()
        var rules: [RedirectRule] = []
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let tokens = NetlifyLine.tokens(strippingComment(String(raw)))
            guard !tokens.isEmpty else { continue }
            let line = NetlifyLine(tokens: tokens, file: file, line: index + 1, capabilities: capabilities)
            if let rule = line.rule(&findings) {
                rules.append(rule)
            }
        }
        try findings.throwIfErrors()
        return ParsedRules(rules: rules, warnings: findings.warnings)
    }

    /// A line without its `#` comment. A `#` starts a comment only at the start of the line or after
    /// whitespace, so a target such as `https://example.com/#/app` keeps its fragment.
    static func strippingComment(_ line: String) -> String {
        var previous: Character = " "
        for index in line.indices {
            if line[index] == "#" && (previous == " " || previous == "\t") { return String(line[..<index]) }
            previous = line[index]
        }
        return line
    }

    /// A redirect status as Netlify's files write it: `301`, `200!`, `404`, `410`. Nil when `text` is not
    /// a number (with an optional `!`).
    static func netlifyStatus(_ text: String) -> (code: Int, force: Bool)? {
        var digits = Substring(text)
        let force = digits.hasSuffix("!")
        if force { digits = digits.dropLast() }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), let code = Int(digits)
        else { return nil }
        return (code, force)
    }

    /// The statuses Canopy serves for a Netlify rule; nil for one it cannot.
    static func netlifyStatusKind(_ code: Int) -> RedirectRule.Status? {
        switch code {
        case 200: return .rewrite
        case 301, 302, 303, 307, 308: return .redirect(code)
        case 404: return .notFound
        case 400...599: return .content(code)
        default: return nil
        }
    }

    static let netlifyStatusHelp =
        "200, 301, 302, 303, 307, 308, 404 or another 4xx/5xx status such as 410 (add ! to force)"

    /// One Netlify condition added to `conditions`: `Language` (lowercased), `Cookie` (names) or
    /// `Country` (uppercased; only with `capabilities.geoIP`); false, with an error at `location`, for
    /// a condition Canopy cannot evaluate. Keys are case-insensitive, as Netlify's parser normalises
    /// them (packages/redirect-parser/src/conditions.js).
    static func netlifyCondition(
        _ key: String, _ values: [String], at location: SourceLocation, into conditions: inout NetlifyConditions,
        capabilities: RuleCapabilities, _ findings: inout DiagnosticCollector
    ) -> Bool {
        let values = values.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let written = "\(key)=\(values.joined(separator: ","))"
        switch key.lowercased() {
        case "language":
            conditions.languages += values.map { $0.lowercased() }
            return true
        case "cookie":
            conditions.cookies += values
            return true
        case "country":
            guard capabilities.geoIP else {
                findings.error(location, countryNeedsGeoIP(written))
                return false
            }
            conditions.countries += countryCodes(values, at: location, &findings)
            return true
        case "role":
            findings.error(
                location,
                "Canopy cannot evaluate \(written): roles come from Netlify Identity, which Canopy does not have; protect the branch with a password in the Sites file instead"
            )
        default:
            findings.error(
                location,
                "Canopy cannot evaluate the condition '\(written)' (it evaluates Language, Cookie and Country); remove it (or the rule)"
            )
        }
        return false
    }

    /// A 200 to an absolute URL is a proxy (Netlify and Amplify both proxy it, and so does the edge).
    /// Its upstream must be named by the rule alone: a placeholder, splat or capture group in the
    /// scheme, host or port would let a request choose where the edge connects, so it is refused.
    /// Returns the error for a proxy target that is not acceptable; nil otherwise (or for any other rule).
    public static func proxyTargetError(_ target: String) -> String? {
        guard let scheme = ["http://", "https://"].first(where: { target.hasPrefix($0) }) else { return nil }
        let rest = target.dropFirst(scheme.count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.isEmpty, !authority.hasPrefix(":") else {
            return "the proxy target \(target) names no host"
        }
        let bad =
            authority.contains { "*<>$@%".contains($0) }
            || authority.split(separator: ":", omittingEmptySubsequences: false).dropFirst().contains {
                $0.isEmpty || !$0.allSatisfy(\.isNumber)
            }
        if bad {
            return
                "the proxy target \(target) has a placeholder or splat in its host or port; only the path may come from the request (write the upstream's host literally)"
        }
        return nil
    }

    static func isNetlifyTarget(_ token: String) -> Bool {
        token.hasPrefix("/") || token.hasPrefix("http://") || token.hasPrefix("https://")
    }
}

/// The conditions of one Netlify rule that Canopy evaluates.
struct NetlifyConditions {
    var languages: [String] = []
    var cookies: [String] = []
    var countries: [String] = []
}

/// One `_redirects` line, split into its whitespace-separated fields.
struct NetlifyLine {
    let tokens: [(text: String, column: Int)]
    let file: String
    let line: Int
    let capabilities: RuleCapabilities

    static func tokens(_ line: String) -> [(text: String, column: Int)] {
        var result: [(String, Int)] = []
        var current = ""
        var start = 0
        for (offset, character) in line.enumerated() {
            if character == " " || character == "\t" {
                if !current.isEmpty { result.append((current, start + 1)) }
                current = ""
            } else {
                if current.isEmpty { start = offset }
                current.append(character)
            }
        }
        if !current.isEmpty { result.append((current, start + 1)) }
        return result
    }

    func at(_ column: Int) -> SourceLocation { SourceLocation(file: file, line: line, column: column) }

    /// The rule this line defines, or nil (with a warning or an error recorded) when it defines none.
    func rule(_ findings: inout DiagnosticCollector) -> RedirectRule? {
        var source = tokens[0].text
        guard source.hasPrefix("/") || source.hasPrefix("http://") || source.hasPrefix("https://") else {
            findings.error(at(1), "a source is a path starting with / or an http(s) URL, not '\(source)'")
            return nil
        }
        let rest = Array(tokens.dropFirst())
        guard let first = rest.first else {
            findings.warn(at(1), "'\(source)' has no target, so Netlify (and Canopy) drop this line")
            return nil
        }
        var target: String
        var queryParts: [(text: String, column: Int)] = []
        var after: ArraySlice<(text: String, column: Int)>
        if RulesSpec.netlifyStatus(first.text) != nil {
            // `from status`: a forward rule. Only `/path/* 2xx` has an implied target (`/path/:splat`).
            guard source.hasSuffix("/*"), let status = RulesSpec.netlifyStatus(first.text), status.code / 100 == 2
            else {
                findings.warn(
                    at(first.column),
                    "'\(source) \(first.text)' has no target: Netlify drops it (only a /path/* rule with a 2xx status may leave the target out)"
                )
                return nil
            }
            target = String(source.dropLast()) + ":splat"
            after = rest[...]
        } else {
            guard let toIndex = rest.firstIndex(where: { RulesSpec.isNetlifyTarget($0.text) }) else {
                let bad = rest.first { !$0.text.contains("=") } ?? first
                findings.error(
                    at(bad.column),
                    "the target must be a path starting with / or an http(s) URL, not '\(bad.text)'")
                return nil
            }
            queryParts = Array(rest[..<toIndex])
            target = rest[toIndex].text
            after = rest[(toIndex + 1)...]
        }
        var status = RedirectRule.Status.redirect(301)
        var force = false
        if let statusToken = after.first {
            guard let parsed = RulesSpec.netlifyStatus(statusToken.text),
                let kind = RulesSpec.netlifyStatusKind(parsed.code)
            else {
                findings.error(
                    at(statusToken.column), "status '\(statusToken.text)' is not one of \(RulesSpec.netlifyStatusHelp)")
                return nil
            }
            status = kind
            force = parsed.force
            after = after.dropFirst()
        }
        guard let query = queryMatches(queryParts, &findings), let conditions = conditions(after, &findings) else {
            return nil
        }
        if source.count > 1 && source.hasSuffix("/") && !source.hasSuffix("*/") { source.removeLast() }
        if status == .rewrite, let error = RulesSpec.proxyTargetError(target) {
            findings.error(at(rest.first { $0.text == target }?.column ?? 1), error)
            return nil
        }
        return RedirectRule(
            source: source, target: target, status: status, syntax: .netlify, force: force,
            countries: conditions.countries, queryMatches: query, languages: conditions.languages,
            cookies: conditions.cookies, location: at(1))
    }

    /// `key=:placeholder` or `key=value` fields between the source and the target.
    private func queryMatches(
        _ parts: [(text: String, column: Int)], _ findings: inout DiagnosticCollector
    ) -> [String: String]? {
        var query: [String: String] = [:]
        for part in parts {
            let kv = part.text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2, !kv[0].isEmpty else {
                findings.error(
                    at(part.column),
                    "query match '\(part.text)' names no parameter; write it as name=:placeholder or name=value")
                return nil
            }
            query[String(kv[0])] = String(kv[1])
        }
        return query
    }

    /// `Key=value,value` conditions after the status (`Language=`, `Cookie=`, `Country=`); nil (with
    /// an error) for a condition Canopy cannot evaluate.
    private func conditions(
        _ parts: ArraySlice<(text: String, column: Int)>, _ findings: inout DiagnosticCollector
    ) -> NetlifyConditions? {
        var conditions = NetlifyConditions()
        for part in parts {
            let kv = part.text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2, !kv[0].isEmpty else {
                findings.error(at(part.column), "'\(part.text)' after the status is not a condition (Key=value)")
                return nil
            }
            let values = kv[1].split(separator: ",").map { String($0) }
            guard
                RulesSpec.netlifyCondition(
                    String(kv[0]), values, at: at(part.column), into: &conditions, capabilities: capabilities,
                    &findings)
            else { return nil }
        }
        return conditions
    }
}
