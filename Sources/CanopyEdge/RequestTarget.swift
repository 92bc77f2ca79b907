/// A request target taken apart and checked: the decoded path (never able to leave the deployment)
/// and the raw query.
struct RequestTarget: Equatable {
    /// Decoded path without the leading `/` (`about`, `docs/index.html`, `` for the root).
    var path: String
    /// The path ended with `/`.
    var trailingSlash: Bool
    /// The query string as sent, without `?`.
    var query: String
    /// Host from an absolute-form target (`GET http://host/path`).
    var host: Substring?

    enum Problem: Error, Equatable {
        case badTarget
        case badEncoding
        case traversal
        case encodedSeparator
        case nul
    }

    /// Parses `/path?query` or `http://host/path?query`. Percent-decoding happens exactly once;
    /// `..`, `.`, encoded slashes and backslashes, NUL and invalid UTF-8 are refused.
    static func parse(_ uri: String) throws(Problem) -> RequestTarget {
        var rest = Substring(uri)
        var host: Substring?
        if rest.hasPrefix("http://") || rest.hasPrefix("https://") {
            rest = rest.dropFirst(rest.hasPrefix("https://") ? 8 : 7)
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            host = rest[..<slash]
            rest = slash == rest.endIndex ? "/" : rest[slash...]
        }
        guard rest.first == "/" else { throw .badTarget }
        var query: Substring = ""
        if let q = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        var segments: [String] = []
        let trailing = rest.count > 1 && rest.hasSuffix("/")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(rest.utf8.count)
        var utf8 = Array(rest.utf8.dropFirst())
        utf8.append(UInt8(ascii: "/"))  // flushes the last segment
        var i = 0
        while i < utf8.count {
            let b = utf8[i]
            if b == UInt8(ascii: "/") {
                if !bytes.isEmpty {
                    guard let segment = String(validating: bytes, as: UTF8.self) else { throw .badEncoding }
                    if segment == ".." || segment == "." { throw .traversal }
                    segments.append(segment)
                    bytes.removeAll(keepingCapacity: true)
                }
                i += 1
                continue
            }
            var value = b
            if b == UInt8(ascii: "%") {
                guard i + 2 < utf8.count, let hi = hex(utf8[i + 1]), let lo = hex(utf8[i + 2]) else {
                    throw .badEncoding
                }
                value = hi << 4 | lo
                if value == UInt8(ascii: "/") || value == UInt8(ascii: "\\") { throw .encodedSeparator }
                i += 2
            }
            if value == 0 { throw .nul }
            if value == UInt8(ascii: "\\") { throw .encodedSeparator }
            bytes.append(value)
            i += 1
        }
        let path = segments.joined(separator: "/")
        return RequestTarget(path: path, trailingSlash: trailing && !path.isEmpty, query: String(query), host: host)
    }

    @inline(__always)
    static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// `Host` (or an absolute-form target's host) to a routing key: lowercase, no port, no trailing dot.
func normaliseHost(_ raw: Substring) -> String {
    var host = raw
    if host.hasPrefix("[") {
        if let end = host.firstIndex(of: "]") { host = host[...end] }
    } else if let colon = host.lastIndex(of: ":") {
        host = host[..<colon]
    }
    while host.hasSuffix(".") { host = host.dropLast() }
    return host.lowercased()
}
