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
