import Foundation
import TOMLKit

/// What Canopy reads from a `netlify.toml`: its `[[redirects]]` and `[[headers]]`.
public struct NetlifyConfigRules: Sendable, Hashable {
    public var redirects: [RedirectRule] = []
    public var headers: [HeaderRule] = []
    public var warnings: [SpecDiagnostic] = []
}

extension RulesSpec {
    /// `netlify.toml`'s `[[redirects]]` (from, to, status, force, query, conditions) and `[[headers]]`
    /// (for, values), with the semantics of `_redirects` and `_headers` (Netlify's own parser reads
    /// both into one form: netlify/build, packages/redirect-parser/src/netlify_config_parser.js and
    /// packages/headers-parser). Errors and warnings carry the line of the table or of its key.
    /// Sections Canopy does not use (`[build]`, `[context.*]`, `[functions]`, …) get a warning.
    /// `conditions = {Country = [...]}` is accepted only with `capabilities.geoIP`.
    public static func parseNetlifyTOML(
        _ text: String, file: String, capabilities: RuleCapabilities = .basic
    ) throws -> NetlifyConfigRules {
        try TOMLLines.checkSafeForTOMLKit(text, file: file)
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw SpecError(
                at: SourceLocation(file: file, line: error.source.begin.line, column: error.source.begin.column),
                "netlify.toml is not valid TOML: \(error.description)")
        }
        let lines = TOMLLines(text: text, file: file)
        var findings = DiagnosticCollector()
        var config = NetlifyConfigRules()
        for key in root.keys.sorted() {
            switch key {
            case "redirects":
                for (index, table) in tables(root[key], "redirects", lines, &findings).enumerated() {
                    let place = lines.table("redirects", index)
                    if let rule = netlifyTOMLRedirect(table, place, capabilities, &findings) {
                        config.redirects.append(rule)
                    }
                }
            case "headers":
                for (index, table) in tables(root[key], "headers", lines, &findings).enumerated() {
                    let place = lines.table("headers", index)
                    if let rule = netlifyTOMLHeaders(table, place, &findings) { config.headers.append(rule) }
                }
            default:
                findings.warn(
                    lines.topLevel(key),
                    "netlify.toml's [\(key)] is not read by Canopy (it reads [[redirects]] and [[headers]]; builds follow amplify.yml)"
                )
            }
        }
        try findings.throwIfErrors()
        config.warnings = findings.warnings
        return config
    }

    private static func tables(
        _ value: TOMLValueConvertible?, _ name: String, _ lines: TOMLLines, _ findings: inout DiagnosticCollector
    ) -> [TOMLTable] {
        guard let array = value?.array else {
            findings.error(lines.topLevel(name), "\(name) must be an array of tables: [[\(name)]]")
            return []
        }
        var result: [TOMLTable] = []
        for (index, item) in array.enumerated() {
            guard let table = item.table else {
                findings.error(lines.table(name, index).start, "each [[\(name)]] entry must be a table")
                continue
            }
            result.append(table)
        }
        return result
    }

    /// What one `[[redirects]]` table says, key by key, before it is checked as a whole.
    struct TOMLRedirectFields {
        var from: String?
        var to: String?
        var code = 301
        var force = false
        var query: [String: String] = [:]
        var proxyHeaders: [HeaderField] = []
        /// Where `headers = {…}` is written, for the warning when the rule is not a proxy.
        var headersAt: SourceLocation?
        var conditions = NetlifyConditions()
    }

    /// One `[[redirects]]` table: its keys read, its source, target and status checked, then the rule.
    static func netlifyTOMLRedirect(
        _ table: TOMLTable, _ place: TOMLLines.Place, _ capabilities: RuleCapabilities,
        _ findings: inout DiagnosticCollector
    ) -> RedirectRule? {
        guard let fields = netlifyTOMLRedirectFields(table, place, capabilities, &findings),
            let (source, target, status) = netlifyTOMLRoute(fields, place, &findings)
        else { return nil }
        var rule = RedirectRule(
            source: source, target: target, status: status, syntax: .netlify, force: fields.force,
            countries: fields.conditions.countries, queryMatches: fields.query,
            languages: fields.conditions.languages, cookies: fields.conditions.cookies, location: place.start)
        if !fields.proxyHeaders.isEmpty {
            if rule.isProxy {
                rule.proxyHeaders = fields.proxyHeaders
            } else if let headersAt = fields.headersAt {
                findings.warn(
                    headersAt,
                    "headers of a redirect are sent only to a proxy's upstream; this rule is not a proxy, so they are ignored"
                )
            }
        }
        return rule
    }

    /// The keys of a `[[redirects]]` table; nil (with an error at the key) when one is unusable.
    /// Unknown keys are warnings.
    static func netlifyTOMLRedirectFields(
        _ table: TOMLTable, _ place: TOMLLines.Place, _ capabilities: RuleCapabilities,
        _ findings: inout DiagnosticCollector
    ) -> TOMLRedirectFields? {
        var fields = TOMLRedirectFields()
        for key in table.keys {
            let value = table[key]
            let at = place.key(key)
            switch key {
            case "from", "origin": fields.from = value?.string
            case "to", "destination": fields.to = value?.string
            case "status":
                guard let parsed = value?.int ?? value?.string.flatMap({ netlifyStatus($0)?.code }) else {
                    findings.error(at, "status must be a number such as 301, not \(value.map(describe) ?? "nothing")")
                    return nil
                }
                fields.code = parsed
            case "force":
                guard let flag = value?.bool else {
                    findings.error(at, "force must be true or false")
                    return nil
                }
                fields.force = flag
            case "query", "params", "parameters":
                guard let pairs = value?.table else {
                    findings.error(at, "query must be a table such as {id = \":id\"}")
                    return nil
                }
                for name in pairs.keys { fields.query[name] = pairs[name]?.string ?? "" }
            case "conditions":
                guard netlifyTOMLConditions(value, at, into: &fields.conditions, capabilities, &findings) else {
                    return nil
                }
            case "signed", "signing", "sign":
                findings.error(at, "Canopy cannot sign proxied requests (\(key)); remove it (or the rule)")
                return nil
            case "headers":
                guard let headers = netlifyTOMLProxyHeaders(value, at, &findings) else { return nil }
                fields.proxyHeaders = headers
                fields.headersAt = at
            default:
                findings.warn(at, "unknown key '\(key)' in [[redirects]] is ignored")
            }
        }
        return fields
    }

    /// `conditions = {Language = ["en"], …}`: each added to `conditions`; false (with an error at
    /// `at`) for a value that is not a table or a condition Canopy cannot evaluate.
    static func netlifyTOMLConditions(
        _ value: TOMLValueConvertible?, _ at: SourceLocation, into conditions: inout NetlifyConditions,
        _ capabilities: RuleCapabilities, _ findings: inout DiagnosticCollector
    ) -> Bool {
        guard let table = value?.table else {
            findings.error(at, "conditions must be a table such as {Language = [\"en\"]}")
            return false
        }
        for name in table.keys.sorted() {
            let item = table[name]
            // A string is a comma-separated list, as in `_redirects` (conditions.js, normalizeConditionList).
            let values =
                item?.array.map { $0.compactMap(\.string) } ?? item?.string.map {
                    $0.split(separator: ",").map(String.init)
                }
                ?? []
            guard netlifyCondition(name, values, at: at, into: &conditions, capabilities: capabilities, &findings)
            else { return false }
        }
        return true
    }

    /// `headers = {X-From = "Netlify"}` of a rule: sent to the upstream of a proxy rule
    /// (docs.netlify.com/routing/redirects/rewrites-proxies, "Custom headers in proxy redirects").
    /// Nil (with an error at `at`) when it is not a table of one-line strings with valid names.
    static func netlifyTOMLProxyHeaders(
        _ value: TOMLValueConvertible?, _ at: SourceLocation, _ findings: inout DiagnosticCollector
    ) -> [HeaderField]? {
        guard let pairs = value?.table else {
            findings.error(at, "headers must be a table such as {X-From = \"Netlify\"}")
            return nil
        }
        var headers: [HeaderField] = []
        for name in pairs.keys.sorted() {
            guard isToken(name), let text = pairs[name]?.string, !text.contains(where: \.isNewline) else {
                findings.error(at, "header '\(name)' of a redirect needs a valid name and a one-line string value")
                return nil
            }
            headers.append(HeaderField(name: name, value: text))
        }
        return headers
    }

    /// The rule's source (without a trailing slash), target and status, as `_redirects` reads them:
    /// a forward rule (`from = "/path/*"`, a 2xx, no `to`) gets `/path/:splat`; a rule without a
    /// target otherwise is dropped with a warning. Nil (with an error or that warning) when unusable.
    static func netlifyTOMLRoute(
        _ fields: TOMLRedirectFields, _ place: TOMLLines.Place, _ findings: inout DiagnosticCollector
    ) -> (source: String, target: String, status: RedirectRule.Status)? {
        guard let from = fields.from, !from.isEmpty else {
            findings.error(place.start, "a [[redirects]] entry needs from = \"/path\"")
            return nil
        }
        guard from.hasPrefix("/") || from.hasPrefix("http://") || from.hasPrefix("https://") else {
            findings.error(place.key("from"), "from is a path starting with / or an http(s) URL, not '\(from)'")
            return nil
        }
        guard let status = netlifyStatusKind(fields.code) else {
            findings.error(place.key("status"), "status \(fields.code) is not one of \(netlifyStatusHelp)")
            return nil
        }
        var target = fields.to ?? ""
        if fields.to == nil {
            guard from.hasSuffix("/*"), fields.code / 100 == 2 else {
                findings.warn(place.start, "'\(from)' has no target (to), so Netlify (and Canopy) drop this rule")
                return nil
            }
            target = String(from.dropLast()) + ":splat"
        }
        target = target.trimmingCharacters(in: .whitespaces)
        guard isNetlifyTarget(target) else {
            findings.error(place.key("to"), "to must be a path starting with / or an http(s) URL, not '\(target)'")
            return nil
        }
        var source = from
        if source.count > 1 && source.hasSuffix("/") && !source.hasSuffix("*/") { source.removeLast() }
        if status == .rewrite, let error = proxyTargetError(target) {
            findings.error(place.key("to"), error)
            return nil
        }
        return (source, target, status)
    }

    /// One `[[headers]]` table: `for` and `[headers.values]`. A multi-line or comma-separated value is
    /// joined with `, `, an array too (packages/headers-parser/src/normalize.ts).
    static func netlifyTOMLHeaders(
        _ table: TOMLTable, _ place: TOMLLines.Place, _ findings: inout DiagnosticCollector
    ) -> HeaderRule? {
        guard let path = table["for"]?.string?.trimmingCharacters(in: .whitespaces), !path.isEmpty else {
            findings.error(place.start, "a [[headers]] entry needs for = \"/path\"")
            return nil
        }
        guard let values = table["values"]?.table else {
            findings.warn(place.start, "[[headers]] for '\(path)' has no values; ignored")
            return nil
        }
        var fields: [HeaderField] = []
        for name in values.keys {
            let at = place.key(name)
            let item = values[name]
            let raw = item?.string.map { [$0] } ?? item?.array?.compactMap(\.string) ?? []
            let value = raw.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                .flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } }
                .filter { !$0.isEmpty }.joined(separator: ", ")
            guard isToken(name) else {
                findings.error(at, "'\(name)' is not a valid header name")
                continue
            }
            guard !value.isEmpty else {
                findings.warn(at, "header '\(name)' has an empty value; dropped")
                continue
            }
            guard !HeaderField.isServerSet(name) else {
                findings.warn(at, serverSetWarning(name, netlify: true))
                continue
            }
            fields.append(HeaderField(name: name, value: value))
        }
        return HeaderRule(pattern: path, headers: fields, location: place.start)
    }

    private static func describe(_ value: TOMLValueConvertible) -> String {
        value.string.map { "'\($0)'" } ?? "\(value)"
    }
}
