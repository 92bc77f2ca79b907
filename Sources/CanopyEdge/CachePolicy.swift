/// Cache-Control defaults like the best static hosts.
enum CachePolicy {
    /// HTML and JSON revalidate; fingerprinted assets are immutable for a year; the rest an hour.
    /// No `public`: these responses carry no Authorization, so shared caches may store them anyway
    /// (REDbot: STORE_PUBLIC_UNNECESSARY); protected routes get `private, no-store` instead.
    static func defaultCacheControl(path: String, contentType: String) -> String {
        if contentType.hasPrefix("text/html") || contentType.hasPrefix("application/json")
            || contentType.hasPrefix("application/manifest+json")
        {
            return "no-cache"
        }
        if isFingerprinted(path) { return "max-age=31536000, immutable" }
        return "max-age=3600"
    }

    /// A name part of 8 or more characters that looks like a hash: hex (`app.3f2a9c1b.js`) or a
    /// base64url-ish mix of letters and digits (`main-BkT3x9Qe.css`).
    static func isFingerprinted(_ path: String) -> Bool {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let parts = name.split(whereSeparator: { $0 == "." || $0 == "-" || $0 == "_" }).dropLast()
        for part in parts where part.count >= 8 && part.count <= 64 {
            let chars = Array(part)
            if chars.allSatisfy(\.isHexDigit) && chars.contains(where: \.isNumber) { return true }
            let hasDigit = chars.contains(where: \.isNumber)
            let hasLetter = chars.contains(where: \.isLetter)
            let allowed = chars.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
            let mixedCase = chars.contains(where: \.isUppercase) && chars.contains(where: \.isLowercase)
            if allowed && hasDigit && hasLetter && mixedCase { return true }
        }
        return false
    }
}
