import Foundation

extension RulesSpec {
    /// Netlify's `_headers`: a path line, then `Name: value` lines, indented or not.
    public static func parseNetlifyHeaders(_ text: String, file: String) throws -> [HeaderRule] {
        try readNetlifyHeaders(text, file: file).rules
    }

    /// `_headers` as Netlify's own parser reads it (netlify/build, packages/headers-parser/src/line_parser.ts):
    /// lines are trimmed, so indentation does not matter; a line starting with `/` is a path; a line
    /// without `:` is ignored; the same header twice in one block is joined with `, `. Where Netlify
    /// ignores a line or reports it without failing the deploy (no colon, no name, no value, a header
    /// before any path), Canopy warns with the line and goes on. A header name that HTTP cannot carry
    /// is an error: it could not be sent.
    public static func readNetlifyHeaders(_ text: String, file: String) throws -> ParsedRules<HeaderRule> {
        var rules: [HeaderRule] = []
        var findings = DiagnosticCollector()
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let trimmed = raw.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let column = raw.prefix { $0 == " " || $0 == "\t" }.count + 1
            let location = SourceLocation(file: file, line: index + 1, column: column)
            if trimmed.hasPrefix("/") {
                rules.append(HeaderRule(pattern: trimmed, headers: [], location: location))
                continue
            }
            guard let colon = trimmed.firstIndex(of: ":") else {
                findings.warn(location, "'\(trimmed)' is neither a path (/…) nor a header (Name: value); ignored")
                continue
            }
            let name = trimmed[..<colon].trimmingCharacters(in: .whitespaces)
            let value = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else {
                findings.warn(location, "a header line without a name is ignored")
                continue
            }
            guard !rules.isEmpty else {
                findings.warn(location, "header '\(name)' comes before any path line, so it applies nowhere; ignored")
                continue
            }
            guard isToken(name) else {
                findings.error(location, "'\(name)' is not a valid header name")
                continue
            }
            guard !value.isEmpty else {
                findings.warn(location, "header '\(name)' has an empty value; dropped")
                continue
            }
            guard !HeaderField.isServerSet(name) else {
                findings.warn(location, serverSetWarning(name, netlify: true))
                continue
            }
            var headers = rules[rules.count - 1].headers
            if let same = headers.firstIndex(where: { $0.name.lowercased() == name.lowercased() }) {
                headers[same].value += ", " + value
            } else {
                headers.append(HeaderField(name: name, value: value))
            }
            rules[rules.count - 1].headers = headers
        }
        try findings.throwIfErrors()
        return ParsedRules(rules: rules, warnings: findings.warnings)
    }

    /// The warning for a custom header the server sets itself (see `HeaderField.serverSetNames`);
    /// `netlify`: from `_headers` or netlify.toml, where Netlify ignores it too.
    static func serverSetWarning(_ name: String, netlify: Bool) -> String {
        let hint = name.lowercased() == "location" ? " (write a redirect rule instead)" : ""
        let host = netlify ? ", as on Netlify" : ""
        return "header '\(name)' is set by the server itself\(host); this rule's value is ignored\(hint)"
    }
}
