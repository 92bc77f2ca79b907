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
    public static func parseNetlifyTOML(_ text: String, file: String) throws -> NetlifyConfigRules {
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
                    if let rule = netlifyTOMLRedirect(table, place, &findings) { config.redirects.append(rule) }
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

    /// One `[[redirects]]` table.
    static func netlifyTOMLRedirect(
        _ table: TOMLTable, _ place: TOMLLines.Place, _ findings: inout DiagnosticCollector
    ) -> RedirectRule? {
        var from: String?
        var to: String?
        var code = 301
        var force = false
        var query: [String: String] = [:]
        var proxyHeaders: [HeaderField] = []
        var headersAt: SourceLocation?
        var conditions = NetlifyConditions()
        for key in table.keys {
            let value = table[key]
            let at = place.key(key)
            switch key {
            case "from", "origin": from = value?.string
            case "to", "destination": to = value?.string
            case "status":
                guard let parsed = value?.int ?? value?.string.flatMap({ netlifyStatus($0)?.code }) else {
                    findings.error(at, "status must be a number such as 301, not \(value.map(describe) ?? "nothing")")
                    return nil
                }
                code = parsed
            case "force":
                guard let flag = value?.bool else {
                    findings.error(at, "force must be true or false")
                    return nil
                }
                force = flag
            case "query", "params", "parameters":
                guard let pairs = value?.table else {
                    findings.error(at, "query must be a table such as {id = \":id\"}")
                    return nil
                }
                for name in pairs.keys { query[name] = pairs[name]?.string ?? "" }
            case "conditions":
                guard let table = value?.table else {
                    findings.error(at, "conditions must be a table such as {Language = [\"en\"]}")
                    return nil
                }
                for name in table.keys.sorted() {
                    let item = table[name]
                    let values = item?.array.map { $0.compactMap(\.string) } ?? item?.string.map { [$0] } ?? []
                    guard netlifyCondition(name, values, at: at, into: &conditions, &findings) else { return nil }
                }
            case "signed", "signing", "sign":
                findings.error(at, "Canopy cannot sign proxied requests (\(key)); remove it (or the rule)")
                return nil
            case "headers":
                // Sent to the upstream of a proxy rule (docs.netlify.com/routing/redirects/rewrites-proxies,
                // "Custom headers in proxy redirects").
                guard let pairs = value?.table else {
                    findings.error(at, "headers must be a table such as {X-From = \"Netlify\"}")
                    return nil
                }
                headersAt = at
                for name in pairs.keys.sorted() {
                    guard isToken(name), let text = pairs[name]?.string, !text.contains(where: \.isNewline) else {
                        findings.error(
                            at, "header '\(name)' of a redirect needs a valid name and a one-line string value")
                        return nil
                    }
                    proxyHeaders.append(HeaderField(name: name, value: text))
                }
            default:
                findings.warn(at, "unknown key '\(key)' in [[redirects]] is ignored")
            }
        }
        guard let from, !from.isEmpty else {
            findings.error(place.start, "a [[redirects]] entry needs from = \"/path\"")
            return nil
        }
        guard from.hasPrefix("/") || from.hasPrefix("http://") || from.hasPrefix("https://") else {
            findings.error(place.key("from"), "from is a path starting with / or an http(s) URL, not '\(from)'")
            return nil
        }
        guard let status = netlifyStatusKind(code) else {
            findings.error(place.key("status"), "status \(code) is not one of \(netlifyStatusHelp)")
            return nil
        }
        var target = to ?? ""
        if to == nil {
            guard from.hasSuffix("/*"), code / 100 == 2 else {
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
        var rule = RedirectRule(
            source: source, target: target, status: status, syntax: .netlify, force: force, queryMatches: query,
            languages: conditions.languages, cookies: conditions.cookies, location: place.start)
        if !proxyHeaders.isEmpty {
            if rule.isProxy {
                rule.proxyHeaders = proxyHeaders
            } else if let headersAt {
                findings.warn(
                    headersAt,
                    "headers of a redirect are sent only to a proxy's upstream; this rule is not a proxy, so they are ignored"
                )
            }
        }
        return rule
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
                findings.warn(at, serverSetWarning(name))
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
