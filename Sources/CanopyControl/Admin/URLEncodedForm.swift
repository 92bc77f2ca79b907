import Foundation

/// `application/x-www-form-urlencoded` text (a query string or a form body) → fields. The one
/// decoder for both: `+` is a space, percent escapes are decoded once, a field without `=` is empty,
/// and the last of repeated names wins.
enum URLEncodedForm {
    static func decode(_ text: Substring) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            fields[component(kv[0])] = kv.count > 1 ? component(kv[1]) : ""
        }
        return fields
    }

    /// One name or value: `+` → space, then percent-decoded (kept as it is when malformed).
    static func component(_ s: Substring) -> String {
        let spaced = s.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}
