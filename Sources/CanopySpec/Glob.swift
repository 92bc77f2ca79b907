/// A compiled glob over `/`-separated paths or branch names: `*` within one segment, `**` across
/// any number of segments (`**/*` matches every file, top-level ones too), `?` one character,
/// `{a,b}` alternatives, `[abc]` / `[!abc]` classes. A leading `./` is dropped (`./**` is `**`).
public struct Glob: Sendable, Hashable {
    public let pattern: String
    private let alternatives: [[Token]]

    enum Token: Sendable, Hashable {
        case literal(Character)
        case any  // ?
        case star  // *
        case globstar  // ** (with its slash, or at the end)
        case deepStar  // ** inside a segment (`**.js`): any characters, slashes too
        case set(Set<Character>, negated: Bool)
    }

    public init(_ pattern: String) {
        self.pattern = pattern
        var text = Substring(pattern)
        while text.hasPrefix("./") { text = text.dropFirst(2) }
        self.alternatives = Self.expandBraces(String(text)).map(Self.tokenize)
    }

    public func matches(_ path: String) -> Bool {
        let chars = Array(path)
        return alternatives.contains { Self.match($0[...], chars[...]) }
    }

    /// `{a,b}` alternatives, nested ones too (`{a,{b,c}}`); an unclosed `{` is a literal.
    static func expandBraces(_ pattern: String) -> [String] {
        let chars = Array(pattern)
        guard let open = chars.firstIndex(of: "{") else { return [pattern] }
        var depth = 0
        var close: Int?
        var commas: [Int] = []
        for i in open..<chars.count {
            switch chars[i] {
            case "{": depth += 1
            case "}":
                depth -= 1
                if depth == 0 { close = i }
            case "," where depth == 1: commas.append(i)
            default: break
            }
            if close != nil { break }
        }
        guard let close else { return [pattern] }
        let head = String(chars[..<open])
        let tail = String(chars[(close + 1)...])
        let bounds = [open] + commas + [close]
        var options: [String] = []
        for k in 0..<(bounds.count - 1) {
            options.append(String(chars[(bounds[k] + 1)..<bounds[k + 1]]))
        }
        return options.flatMap { expandBraces(head + $0 + tail) }
    }

    static func tokenize(_ pattern: String) -> [Token] {
        var tokens: [Token] = []
        let chars = Array(pattern)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "*" {
                if i + 1 < chars.count && chars[i + 1] == "*" {
                    i += 2
                    if i < chars.count && chars[i] == "/" {
                        i += 1
                        tokens.append(.globstar)
                    } else if i == chars.count {
                        tokens.append(.globstar)
                    } else {
                        tokens.append(.deepStar)
                    }
                    continue
                }
                tokens.append(.star)
            } else if c == "?" {
                tokens.append(.any)
            } else if c == "[", let close = chars[(i + 1)...].firstIndex(of: "]") {
                var members = chars[(i + 1)..<close]
                let negated = members.first == "!" || members.first == "^"
                if negated { members = members.dropFirst() }
                var set = Set<Character>()
                var j = members.startIndex
                while j < members.endIndex {
                    if j + 2 < members.endIndex, members[j + 1] == "-", let lo = members[j].asciiValue,
                        let hi = members[j + 2].asciiValue, lo <= hi
                    {
                        for v in lo...hi { set.insert(Character(UnicodeScalar(v))) }
                        j += 3
                    } else {
                        set.insert(members[j])
                        j += 1
                    }
                }
                tokens.append(.set(set, negated: negated))
                i = close
            } else {
                tokens.append(.literal(c))
            }
            i += 1
        }
        return tokens
    }

    static func match(_ p: ArraySlice<Token>, _ s: ArraySlice<Character>) -> Bool {
        guard let token = p.first else { return s.isEmpty }
        let rest = p.dropFirst()
        switch token {
        case .literal(let c):
            return s.first == c && match(rest, s.dropFirst())
        case .any:
            guard let c = s.first, c != "/" else { return false }
            return match(rest, s.dropFirst())
        case .set(let set, let negated):
            guard let c = s.first, c != "/", set.contains(c) != negated else { return false }
            return match(rest, s.dropFirst())
        case .star:
            var i = s.startIndex
            while true {
                if match(rest, s[i...]) { return true }
                if i == s.endIndex || s[i] == "/" { return false }
                i += 1
            }
        case .deepStar:
            var i = s.startIndex
            while true {
                if match(rest, s[i...]) { return true }
                if i == s.endIndex { return false }
                i += 1
            }
        case .globstar:
            // Zero or more whole segments.
            if match(rest, s) { return true }
            var i = s.startIndex
            while i < s.endIndex {
                if s[i] == "/" && match(rest, s[(i + 1)...]) { return true }
                i += 1
            }
            // `**` at the end matches everything left.
            return rest.isEmpty
        }
    }
}
