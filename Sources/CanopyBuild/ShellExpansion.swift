/// Parameter expansion of amplify.yml `env.variables` values, as a shell expands a double-quoted
/// word: `$NAME`, `${NAME}`, `${NAME:-default}` and `${NAME-default}`; an unset name is empty;
/// `\$` is a literal `$`, and a `$` not followed by a name stays as it is. Command substitution
/// (`$(…)`) is not run: it stays literal.
enum ShellExpansion {
    static func expand(_ value: String, in environment: [String: String]) -> String {
        let chars = Array(value)
        var result = ""
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "\\", i + 1 < chars.count, chars[i + 1] == "$" {
                result.append("$")
                i += 2
                continue
            }
            guard c == "$", i + 1 < chars.count else {
                result.append(c)
                i += 1
                continue
            }
            if chars[i + 1] == "{", let close = chars[(i + 2)...].firstIndex(of: "}") {
                result += braced(String(chars[(i + 2)..<close]), environment) ?? String(chars[i...close])
                i = close + 1
                continue
            }
            var end = i + 1
            while end < chars.count, isNameCharacter(chars[end], first: end == i + 1) { end += 1 }
            if end == i + 1 {
                result.append(c)
                i += 1
                continue
            }
            result += environment[String(chars[(i + 1)..<end])] ?? ""
            i = end
        }
        return result
    }

    /// `NAME`, `NAME:-word` or `NAME-word`; nil when it is not a parameter (kept literally).
    private static func braced(_ text: String, _ environment: [String: String]) -> String? {
        let chars = Array(text)
        var end = 0
        while end < chars.count, isNameCharacter(chars[end], first: end == 0) { end += 1 }
        guard end > 0 else { return nil }
        let name = String(chars[..<end])
        let rest = chars[end...]
        let value = environment[name]
        if rest.isEmpty { return value ?? "" }
        if rest.starts(with: [":", "-"]) {
            let word = expand(String(rest.dropFirst(2)), in: environment)
            return (value?.isEmpty ?? true) ? word : value!
        }
        if rest.first == "-" { return value ?? expand(String(rest.dropFirst()), in: environment) }
        return nil
    }

    private static func isNameCharacter(_ c: Character, first: Bool) -> Bool {
        c == "_" || (c.isASCII && c.isLetter) || (!first && c.isASCII && c.isNumber)
    }
}
