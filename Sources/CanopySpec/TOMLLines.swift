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
    /// Refuses a character outside ASCII anywhere but in a string or a comment, where TOML 1.0 does not
    /// allow one anyway: toml++ (under TOMLKit) asserts, and so stops the process, on some such keys
    /// (found by the netlify-toml fuzz target), so they never reach it.
    static func checkASCIIOutsideStrings(_ text: String, file: String) throws {
        var line = 1
        var column = 0
        var delimiter: String?  // the open string's delimiter: ", ', """ or '''
        var comment = false
        var chars = Array(text.unicodeScalars)[...]
        while let c = chars.first {
            column += 1
            if c == "\n" {
                line += 1
                column = 0
                comment = false
                if delimiter == "\"" || delimiter == "'" { delimiter = nil }  // (an unclosed one-line string)
                chars = chars.dropFirst()
                continue
            }
            if comment {
                chars = chars.dropFirst()
                continue
            }
            if let open = delimiter {
                if c == "\\" && open.hasPrefix("\"") {
                    chars = chars.dropFirst(2)  // an escape: the next character is part of the string
                    column += 1
                    continue
                }
                if String(String.UnicodeScalarView(chars.prefix(open.unicodeScalars.count))) == open {
                    chars = chars.dropFirst(open.unicodeScalars.count)
                    column += open.unicodeScalars.count - 1
                    delimiter = nil
                    continue
                }
                chars = chars.dropFirst()
                continue
            }
            if c == "#" {
                comment = true
            } else if c == "\"" || c == "'" {
                let triple = String(repeating: String(c), count: 3)
                let isTriple = String(String.UnicodeScalarView(chars.prefix(3))) == triple
                delimiter = isTriple ? triple : String(c)
                chars = chars.dropFirst(isTriple ? 3 : 1)
                column += isTriple ? 2 : 0
                continue
            } else if !c.isASCII {
                throw SpecError(
                    at: SourceLocation(file: file, line: line, column: column),
                    "netlify.toml is not valid TOML: '\(c)' outside a quoted string (keys are ASCII; quote them)")
            }
            chars = chars.dropFirst()
        }
    }
}
