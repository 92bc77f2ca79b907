import Foundation

extension RulesSpec {
    // MARK: Amplify

    /// Amplify's `redirects.json` (the console's export): a JSON array of
    /// `{ "source", "target", "status", "condition" }`. Errors carry the line of the rule.
    public static func parseAmplifyRedirects(json: String, file: String) throws -> [RedirectRule] {
        // JSON is YAML flow syntax: reading it through the YAML parser gives every value its line.
        let root = try YAMLValue.parse(json, file: file)
        guard case .sequence = root.node else { throw root.error("redirects.json must be a JSON array of rules") }
        return try amplifyRedirects(root)
    }

    /// Amplify rules written as a list (in a Sites file or redirects.json).
    static func amplifyRedirects(_ list: YAMLValue) throws -> [RedirectRule] {
        var findings = DiagnosticCollector()
        var rules: [RedirectRule] = []
        for item in try list.items("redirects") {
            findings.attempt { findings in
                var source: String?
                var target: String?
                var status = "301"
                var condition: String?
                for field in try item.mapping("a redirect rule") {
                    switch field.key {
                    case "source": source = try field.value.string("source")
                    case "target": target = try field.value.string("target")
                    case "status": status = try field.value.string("status")
                    case "condition": condition = field.value.isNull ? nil : try field.value.string("condition")
                    default:
                        findings.warn(field.keyLocation, "unknown key '\(field.key)' in a redirect rule is ignored")
                    }
                }
                guard let source, !source.isEmpty else { throw item.error("a redirect rule needs a source") }
                guard let target, !target.isEmpty else { throw item.error("a redirect rule needs a target") }
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
                rules.append(
                    RedirectRule(
                        source: pattern, target: target, status: parsedStatus, syntax: syntax,
                        force: parsedStatus != .notFound && parsedStatus != .notFoundRewrite, condition: condition,
                        location: item.location))
            }
        }
        try findings.throwIfErrors()
        return rules
    }

    /// `customHttp.yml`: `customHeaders: - pattern: '**/*' headers: - key: X value: Y`.
    public static func parseCustomHTTP(yaml: String, file: String) throws -> [HeaderRule] {
        let root = try YAMLValue.parse(yaml, file: file)
        var rules: [HeaderRule] = []
        for entry in try root.mapping("customHttp.yml") {
            guard entry.key == "customHeaders" else {
                throw SpecError(at: entry.keyLocation, "customHttp.yml has one key, customHeaders, not '\(entry.key)'")
            }
            rules = try headerRules(entry.value)
        }
        return rules
    }

    /// A `customHeaders` list.
    static func headerRules(_ list: YAMLValue) throws -> [HeaderRule] {
        try list.items("customHeaders").map { item in
            var pattern: String?
            var headers: [HeaderField] = []
            for field in try item.mapping("a customHeaders rule") {
                switch field.key {
                case "pattern": pattern = try field.value.string("pattern")
                case "headers":
                    for header in try field.value.items("headers") {
                        var key: String?
                        var value: String?
                        for kv in try header.mapping("a header") {
                            switch kv.key {
                            case "key": key = try kv.value.string("key")
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

    // MARK: Netlify

    /// Netlify's `_redirects`: `/from /to [status][!] [key=:value …]`, `#` comments, `*` splats and `:placeholders`.
    public static func parseNetlifyRedirects(_ text: String, file: String) throws -> [RedirectRule] {
        var rules: [RedirectRule] = []
        var errors: [SpecDiagnostic] = []
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line =
                Self.strippingComment(String(raw))
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard !fields.isEmpty else { continue }
            let location = SourceLocation(file: file, line: index + 1, column: 1)
            guard fields.count >= 2 else {
                errors.append(
                    SpecDiagnostic(.error, at: location, "a rule needs a source and a target: /from /to [status]"))
                continue
            }
            var status = RedirectRule.Status.redirect(301)
            var force = false
            var query: [String: String] = [:]
            var rest = Array(fields.dropFirst(2))
            // Query matches come before the status: `/store id=:id /blog/:id 301` puts them after the
            // source in Netlify's syntax; accept both places.
            var source = fields[0]
            var target = fields[1]
            var middle: [String] = []
            var i = 1
            while i < fields.count && fields[i].contains("=") && !fields[i].hasPrefix("/") && !fields[i].contains("://")
            {
                middle.append(fields[i])
                i += 1
            }
            if !middle.isEmpty {
                guard i < fields.count else {
                    errors.append(SpecDiagnostic(.error, at: location, "a rule needs a target after its query matches"))
                    continue
                }
                target = fields[i]
                rest = Array(fields[(i + 1)...])
                var unnamed: String?
                for pair in middle {
                    let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    guard !kv[0].isEmpty else {
                        unnamed = pair
                        break
                    }
                    query[String(kv[0])] = String(kv[1])
                }
                if let unnamed {
                    errors.append(
                        SpecDiagnostic(
                            .error, at: location,
                            "query match '\(unnamed)' names no parameter; write it as name=:placeholder or name=value"))
                    continue
                }
            }
            if let code = rest.first {
                var digits = code
                if digits.hasSuffix("!") {
                    force = true
                    digits.removeLast()
                }
                switch digits {
                case "200": status = .rewrite
                case "301", "302", "303", "307", "308": status = .redirect(Int(digits)!)
                case "404": status = .notFound
                default:
                    errors.append(
                        SpecDiagnostic(
                            .error,
                            at: SourceLocation(
                                file: file, line: index + 1,
                                column: (line.range(of: code).map {
                                    line.distance(from: line.startIndex, to: $0.lowerBound)
                                } ?? 0) + 1), "status '\(code)' is not one of 200, 301, 302, 404 (add ! to force)"))
                    continue
                }
            }
            if !source.hasPrefix("/") && !source.hasPrefix("http") {
                errors.append(
                    SpecDiagnostic(.error, at: location, "a source is a path starting with / or a URL, not '\(source)'")
                )
                continue
            }
            if source.count > 1 && source.hasSuffix("/") && !source.hasSuffix("*/") { source.removeLast() }
            rules.append(
                RedirectRule(
                    source: source, target: target, status: status, syntax: .netlify, force: force, queryMatches: query,
                    location: location))
        }
        if !errors.isEmpty { throw SpecError(errors) }
        return rules
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

    /// Netlify's `_headers`: a path line, then indented `Name: value` lines.
    public static func parseNetlifyHeaders(_ text: String, file: String) throws -> [HeaderRule] {
        var rules: [HeaderRule] = []
        var errors: [SpecDiagnostic] = []
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = String(raw)
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let location = SourceLocation(file: file, line: index + 1, column: 1)
            if line.first == " " || line.first == "\t" {
                guard !rules.isEmpty else {
                    errors.append(SpecDiagnostic(.error, at: location, "a header line must follow a path line"))
                    continue
                }
                guard let colon = trimmed.firstIndex(of: ":"), colon != trimmed.startIndex else {
                    errors.append(SpecDiagnostic(.error, at: location, "a header line is Name: value"))
                    continue
                }
                let name = String(trimmed[..<colon]).trimmingCharacters(in: .whitespaces)
                guard isToken(name) else {
                    errors.append(SpecDiagnostic(.error, at: location, "'\(name)' is not a valid header name"))
                    continue
                }
                rules[rules.count - 1].headers.append(
                    HeaderField(
                        name: name,
                        value: String(trimmed[trimmed.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
            } else {
                guard trimmed.hasPrefix("/") || trimmed.hasPrefix("http") else {
                    errors.append(
                        SpecDiagnostic(
                            .error, at: location, "a path line starts with /, not '\(trimmed)'; indent header lines"))
                    continue
                }
                rules.append(HeaderRule(pattern: trimmed, headers: [], location: location))
            }
        }
        if !errors.isEmpty { throw SpecError(errors) }
        return rules
    }
}
