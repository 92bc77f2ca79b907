/// Where things are in a TOML file, found from its text: TOMLKit gives values but not their lines, so
/// errors about a `[[redirects]]` entry or one of its keys are placed by scanning for its header and
/// key lines. An entry written inline (`redirects = [{…}]`) is placed at its array's line.
struct TOMLLines {
    let file: String
    /// Trimmed lines without comments, 1-based by index + 1.
    let lines: [String]

    /// The lines of one table: its header's line and the lines up to the next header.
    struct Place {
        let file: String
        let start: SourceLocation
        let body: [(line: Int, text: String)]

        /// The line of `key = …` in this table, or the table's own line.
        func key(_ key: String) -> SourceLocation {
            for (line, text) in body where TOMLLines.assigns(text, key) {
                return SourceLocation(file: file, line: line, column: 1)
            }
            return start
        }
    }

    init(text: String, file: String) {
        self.file = file
        self.lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map { raw in
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#"), !line[..<hash].contains("\"") && !line[..<hash].contains("'") {
                line = line[..<hash]
            }
            return line.trimmingSpaces()
        }
    }

    /// The `index`-th `[[name]]` table.
    func table(_ name: String, _ index: Int) -> Place {
        let headers = lines.indices.filter { lines[$0].replacingSpaces() == "[[\(name)]]" }
        guard index < headers.count else {
            let line = lines.firstIndex { TOMLLines.assigns($0, name) }.map { $0 + 1 } ?? 1
            return Place(file: file, start: SourceLocation(file: file, line: line, column: 1), body: [])
        }
        let first = headers[index]
        var body: [(Int, String)] = []
        var i = first + 1
        // The table's keys run to the next [[name]] header (sub-tables such as [headers.values] included).
        while i < lines.count && lines[i].replacingSpaces() != "[[\(name)]]" && !isOtherTopHeader(lines[i], name) {
            body.append((i + 1, lines[i]))
            i += 1
        }
        return Place(file: file, start: SourceLocation(file: file, line: first + 1, column: 1), body: body)
    }

    /// The line of a top-level `[key]`, `[[key]]` or `key = …`.
    func topLevel(_ key: String) -> SourceLocation {
        let line =
            lines.firstIndex {
                let compact = $0.replacingSpaces()
                return compact == "[\(key)]" || compact == "[[\(key)]]" || compact.hasPrefix("[\(key).")
                    || TOMLLines.assigns($0, key)
            }.map { $0 + 1 } ?? 1
        return SourceLocation(file: file, line: line, column: 1)
    }

    private func isOtherTopHeader(_ line: String, _ name: String) -> Bool {
        guard line.hasPrefix("[") else { return false }
        let compact = line.replacingSpaces()
        return !compact.hasPrefix("[\(name).") && !compact.hasPrefix("[[\(name).")
    }

    static func assigns(_ line: String, _ key: String) -> Bool {
        for candidate in [key, "\"\(key)\"", "'\(key)'"] where line.hasPrefix(candidate) {
            if line.dropFirst(candidate.count).trimmingSpaces().hasPrefix("=") { return true }
        }
        return false
    }
}

extension StringProtocol {
    fileprivate func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }

    fileprivate func replacingSpaces() -> String { String(filter { $0 != " " && $0 != "\t" }) }
}

extension TOMLLines {
    /// Refuses, at its line and column, what toml++ (under TOMLKit 0.6.0) cannot be given: it asserts
    /// (aborting the process), or in release builds assumes, that a table header's first key starts
    /// with a key character or a quote, so `[!]`, `[#]` or `[\u{1}]` stopped the server; and it did
    /// the same on some characters outside ASCII (found by the netlify-toml fuzz target). TOML 1.0
    /// allows neither, so a valid file never meets this check.
    static func checkSafeForTOMLKit(_ text: String, file: String) throws {
        var line = 1
        var column = 0
        var delimiter: [Unicode.Scalar]?  // the string's delimiter: ", ', """ or '''
        var comment = false
        var open: [Unicode.Scalar] = []  // the [ and { of a value (an array or an inline table)
        var lineStart = true  // only whitespace so far on this line
        var chars = Array(text.unicodeScalars)[...]
        func fail(_ message: String) -> SpecError {
            SpecError(
                at: SourceLocation(file: file, line: line, column: column), "netlify.toml is not valid TOML: \(message)"
            )
        }
        while let c = chars.first {
            column += 1
            chars = chars.dropFirst()
            if c == "\n" {
                (line, column, comment, lineStart) = (line + 1, 0, false, true)
                if let quote = delimiter, quote.count == 1 { delimiter = nil }  // (an unclosed one-line string)
                continue
            }
            if comment { continue }
            if let quote = delimiter {
                if c == "\\" && quote[0] == "\"" {
                    if let next = chars.first, next != "\n" {
                        chars = chars.dropFirst()
                        column += 1
                    }
                } else if c == quote[0] && Array(chars.prefix(quote.count - 1)) == Array(quote.dropFirst()) {
                    chars = chars.dropFirst(quote.count - 1)
                    column += quote.count - 1
                    delimiter = nil
                }
                continue
            }
            let startsLine = lineStart && c != " " && c != "\t"
            if c != " " && c != "\t" { lineStart = false }
            switch c {
            case "#": comment = true
            case "\"", "'":
                let triple = chars.prefix(2).allSatisfy { $0 == c } && chars.count >= 2
                delimiter = Array(repeating: c, count: triple ? 3 : 1)
                if triple {
                    chars = chars.dropFirst(2)
                    column += 2
                }
            case "[" where startsLine && open.isEmpty:
                // A table header: its first key must start with a key character or a quote.
                if chars.first == "[" {
                    chars = chars.dropFirst()
                    column += 1
                }
                while let w = chars.first, w == " " || w == "\t" {
                    chars = chars.dropFirst()
                    column += 1
                }
                guard let first = chars.first, first.isASCII,
                    first.properties.isAlphabetic || ("0"..."9").contains(first)
                        || "_-\"'".unicodeScalars.contains(first)
                else {
                    column += 1
                    throw fail("a table header starts with a key (letters, digits, _ or -, or a quoted key)")
                }
            case "[", "{": open.append(c)
            case "]", "}":
                // (At depth 0, `]` closes a table header.) A value's brackets must pair up.
                guard let last = open.popLast() else { break }
                guard last == (c == "]" ? "[" : "{") else { throw fail("'\(c)' closes no open bracket") }
            default:
                if !c.isASCII { throw fail("'\(c)' outside a quoted string (keys are ASCII; quote them)") }
            }
        }
    }
}
