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
    var host: String?

    enum Problem: Error, Equatable {
        case badTarget
        case badEncoding
        case traversal
        case encodedSeparator
        case nul
    }

    /// Parses `/path?query` or `http://host/path?query`. Percent-decoding happens exactly once;
    /// `..`, `.`, encoded slashes and backslashes, NUL and invalid UTF-8 are refused. Works on the
    /// target's bytes (it runs on every request).
    static func parse(_ uri: String) throws(Problem) -> RequestTarget {
        var uri = uri
        let result: Result<RequestTarget, Problem> = uri.withUTF8 { bytes in
            do throws(Problem) {
                return .success(try parse(bytes))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(Problem) -> RequestTarget {
        let count = bytes.count
        var i = 0
        var host: String?
        if let scheme = schemeLength(bytes) {
            i = scheme
            let hostStart = i
            while i < count, bytes[i] != slash, bytes[i] != question, bytes[i] != hash { i += 1 }
            host = String(decoding: UnsafeBufferPointer(rebasing: bytes[hostStart..<i]), as: UTF8.self)
            if i == count || bytes[i] != slash {
                // `http://host` and `http://host?q` mean the root.
                let query = i < count && bytes[i] == question ? queryString(bytes, from: i + 1) : ""
                return RequestTarget(path: "", trailingSlash: false, query: query, host: host)
            }
        }
        guard i < count, bytes[i] == slash else { throw .badTarget }
        let pathStart = i
        while i < count, bytes[i] != question, bytes[i] != hash { i += 1 }
        let pathEnd = i
        let query = i < count && bytes[i] == question ? queryString(bytes, from: i + 1) : ""
        let path = UnsafeBufferPointer(rebasing: bytes[pathStart..<pathEnd])
        if let plain = plainPath(path) {
            return RequestTarget(path: plain.path, trailingSlash: plain.trailingSlash, query: query, host: host)
        }
        let decoded = try decode(path)
        return RequestTarget(path: decoded.path, trailingSlash: decoded.trailingSlash, query: query, host: host)
    }

    private static let slash = UInt8(ascii: "/")
    private static let question = UInt8(ascii: "?")
    private static let hash = UInt8(ascii: "#")

    /// The length of a leading `http://` or `https://` (any case), if there is one.
    private static func schemeLength(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard bytes.count >= 7, bytes[0] | 0x20 == UInt8(ascii: "h"), bytes[1] | 0x20 == UInt8(ascii: "t"),
            bytes[2] | 0x20 == UInt8(ascii: "t"), bytes[3] | 0x20 == UInt8(ascii: "p")
        else { return nil }
        var i = 4
        if bytes[i] | 0x20 == UInt8(ascii: "s") { i += 1 }
        guard i + 3 <= bytes.count, bytes[i] == UInt8(ascii: ":"), bytes[i + 1] == slash, bytes[i + 2] == slash
        else { return nil }
        return i + 3
    }

    /// The query from `from` to a `#` or the end, as sent.
    private static func queryString(_ bytes: UnsafeBufferPointer<UInt8>, from: Int) -> String {
        var end = from
        while end < bytes.count, bytes[end] != hash { end += 1 }
        return end == from ? "" : String(decoding: UnsafeBufferPointer(rebasing: bytes[from..<end]), as: UTF8.self)
    }

    /// The common case without a pass of decoding: an ASCII path with no `%`, `\\`, empty, `.` or
    /// `..` segment is its own decoded form, minus its leading (and trailing) slash.
    private static func plainPath(_ path: UnsafeBufferPointer<UInt8>) -> (path: String, trailingSlash: Bool)? {
        var segmentLength = 0
        var dots = 0
        for b in path.dropFirst() {  // after the leading `/`
            if b == slash {
                if segmentLength == 0 || (dots == segmentLength && dots <= 2) { return nil }
                segmentLength = 0
                dots = 0
                continue
            }
            guard b > 0x20, b < 0x7F, b != UInt8(ascii: "%"), b != UInt8(ascii: "\\") else { return nil }
            segmentLength += 1
            if b == UInt8(ascii: ".") { dots += 1 }
        }
        if path.count == 1 { return ("", false) }
        let trailing = segmentLength == 0
        if !trailing, dots == segmentLength, dots <= 2 { return nil }
        let end = trailing ? path.count - 1 : path.count
        return (String(decoding: UnsafeBufferPointer(rebasing: path[1..<end]), as: UTF8.self), trailing)
    }

    /// The general case: percent-decodes each segment once and checks what it decodes to.
    private static func decode(
        _ path: UnsafeBufferPointer<UInt8>
    ) throws(Problem) -> (
        path: String, trailingSlash: Bool
    ) {
        var segments: [String] = []
        let trailing = path.count > 1 && path[path.count - 1] == slash
        var bytes: [UInt8] = []
        bytes.reserveCapacity(path.count)
        var utf8 = Array(path.dropFirst())
        utf8.append(slash)  // flushes the last segment
        var i = 0
        while i < utf8.count {
            let b = utf8[i]
            if b == slash {
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
                if value == slash || value == UInt8(ascii: "\\") { throw .encodedSeparator }
                i += 2
            }
            if value == 0 { throw .nul }
            if value == UInt8(ascii: "\\") { throw .encodedSeparator }
            bytes.append(value)
            i += 1
        }
        let path = segments.joined(separator: "/")
        return (path, trailing && !path.isEmpty)
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
func normaliseHost(_ raw: String) -> String {
    // Fast path: already a plain lowercase name (letters, digits, `-`, `.`, not ending in `.`).
    var plain = true
    for b in raw.utf8 {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"),
            UInt8(ascii: "."):
            continue
        default:
            plain = false
        }
        break
    }
    if plain && raw.utf8.last != UInt8(ascii: ".") { return raw }
    var host = Substring(raw)
    if host.hasPrefix("[") {
        if let end = host.firstIndex(of: "]") { host = host[...end] }
    } else if let colon = host.lastIndex(of: ":") {
        host = host[..<colon]
    }
    while host.hasSuffix(".") { host = host.dropLast() }
    return host.lowercased()
}
