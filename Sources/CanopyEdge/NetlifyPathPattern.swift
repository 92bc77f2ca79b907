/// A `_headers` path pattern as Netlify matches it (docs.netlify.com/routing/headers; the rule is
/// netlify/build's packages/headers-parser/src/for_regexp.ts): against the requested URL path,
/// case-insensitively, a trailing slash optional; a segment `*` matches anything, `/` included, and
/// the slash before it is optional (`/blog/*` matches `/blog`); a `*` inside a segment matches
/// anything too; a segment starting with `:` matches one path segment.
struct NetlifyPathPattern: Sendable {
    enum Token: Sendable, Equatable {
        case literal(Character)
        case slash(optional: Bool)
        case star
        case placeholder
    }

    let tokens: [Token]
    /// Literal characters: more means more specific.
    let specificity: Int

    init(_ pattern: String) {
        let segments = pattern.lowercased().split(separator: "/").map { $0.trimmingSuffixWhitespace() }
            .filter { !$0.isEmpty }
        var tokens: [Token] = []
        for segment in segments {
            tokens.append(.slash(optional: segment == "*"))
            if segment.hasPrefix(":") {
                tokens.append(.placeholder)
            } else {
                // (Consecutive stars are one: fewer ways to backtrack.)
                for c in segment where !(c == "*" && tokens.last == .star) {
                    tokens.append(c == "*" ? .star : .literal(c))
                }
            }
        }
        if tokens.isEmpty { tokens = [.slash(optional: false)] }
        self.tokens = tokens
        self.specificity = tokens.reduce(0) { count, token in
            if case .literal = token { return count + 1 }
            return count
        }
    }

    func matches(_ path: String) -> Bool {
        Self.match(tokens[...], Array(path.lowercased())[...])
    }

    private static func match(_ tokens: ArraySlice<Token>, _ path: ArraySlice<Character>) -> Bool {
        guard let first = tokens.first else { return path.isEmpty || path == ["/"] }
        let rest = tokens.dropFirst()
        switch first {
        case .literal(let c):
            return path.first == c && match(rest, path.dropFirst())
        case .slash(let optional):
            if path.first == "/" && match(rest, path.dropFirst()) { return true }
            return optional && match(rest, path)
        case .star:
            var tail = path
            while true {
                if match(rest, tail) { return true }
                guard !tail.isEmpty else { return false }
                tail = tail.dropFirst()
            }
        case .placeholder:
            var length = 0
            for c in path {
                if c == "/" { break }
                length += 1
                if match(rest, path.dropFirst(length)) { return true }
            }
            return false
        }
    }
}

extension Substring {
    fileprivate func trimmingSuffixWhitespace() -> Substring {
        var s = self
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}
