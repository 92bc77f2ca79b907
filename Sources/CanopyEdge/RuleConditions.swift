/// The request conditions Netlify rules may carry that Canopy evaluates.

/// Netlify's `Language=` condition against a request's `Accept-Language`: the rule applies when the
/// header lists (with a non-zero weight) one of the rule's languages. A bare language (`en`) matches
/// its regional forms (`en-US`, `en-GB`); a regional one (`en-us`) matches only itself. Without the
/// header the rule does not apply.
enum LanguageCondition {
    static func matches(_ languages: [String], acceptLanguage: String?) -> Bool {
        guard let acceptLanguage else { return false }
        for item in acceptLanguage.split(separator: ",") {
            let parts = item.split(separator: ";")
            guard let tag = parts.first?.trimmingWhitespace().lowercased(), !tag.isEmpty else { continue }
            if parts.dropFirst().contains(where: { isZeroWeight($0) }) { continue }
            let primary = tag.split(separator: "-").first.map(String.init) ?? tag
            if languages.contains(where: { $0 == tag || $0 == primary }) { return true }
        }
        return false
    }

    private static func isZeroWeight(_ parameter: Substring) -> Bool {
        let p = parameter.trimmingWhitespace()
        guard p.hasPrefix("q=") else { return false }
        return Double(p.dropFirst(2)) == 0
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}

/// Netlify's `Cookie=name,other` condition: the rule applies when the request carries a cookie of
/// one of these names (its value does not matter).
enum CookieCondition {
    static func matches(_ names: [String], cookie: String?) -> Bool {
        guard let cookie else { return false }
        for pair in cookie.split(separator: ";") {
            let name = pair.split(separator: "=", maxSplits: 1).first?.trimmingWhitespace() ?? ""
            if names.contains(where: { $0 == name }) { return true }
        }
        return false
    }
}

/// The request fields that a rule's conditions read, for the answer's `Vary`.
struct RuleVary: OptionSet, Sendable {
    let rawValue: UInt8
    static let language = RuleVary(rawValue: 1)
    static let cookie = RuleVary(rawValue: 2)

    /// `Vary: …\r\n`, or nothing.
    var line: String {
        switch (contains(.language), contains(.cookie)) {
        case (true, true): return "Vary: Accept-Language, Cookie\r\n"
        case (true, false): return "Vary: Accept-Language\r\n"
        case (false, true): return "Vary: Cookie\r\n"
        case (false, false): return ""
        }
    }
}
