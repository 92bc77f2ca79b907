/// RequestParser's byte-level helpers: the header names the edge reads, token scanning, and the
/// few conversions from bytes that the head needs.
extension RequestParser {
    // MARK: Fields the edge reads

    enum Field {
        case host, connection, contentLength, transferEncoding, expect, acceptEncoding, acceptLanguage, range, ifRange
        case ifMatch
        case ifNoneMatch, ifModifiedSince, ifUnmodifiedSince, authorization, cookie, canopyTarget, referer
        case userAgent

        /// Matches a header name, case-insensitively, by its length first.
        @inline(__always)
        init?(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) {
            func is_(_ name: StaticString) -> Bool { RequestParser.matches(bytes, start, name) }
            switch end - start {
            case 4 where is_("host"): self = .host
            case 5 where is_("range"): self = .range
            case 6 where is_("cookie"): self = .cookie
            case 6 where is_("expect"): self = .expect
            case 7 where is_("referer"): self = .referer
            case 8 where is_("if-range"): self = .ifRange
            case 8 where is_("if-match"): self = .ifMatch
            case 10 where is_("connection"): self = .connection
            case 10 where is_("user-agent"): self = .userAgent
            case 13 where is_("if-none-match"): self = .ifNoneMatch
            case 13 where is_("authorization"): self = .authorization
            case 14 where is_("content-length"): self = .contentLength
            case 15 where is_("accept-encoding"): self = .acceptEncoding
            case 15 where is_("accept-language"): self = .acceptLanguage
            case 15 where is_("x-canopy-target"): self = .canopyTarget
            case 17 where is_("transfer-encoding"): self = .transferEncoding
            case 17 where is_("if-modified-since"): self = .ifModifiedSince
            case 19 where is_("if-unmodified-since"): self = .ifUnmodifiedSince
            default: return nil
            }
        }
    }

    enum ConnectionToken { case close, keepAlive, other }

    static func scanTokens(
        _ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ body: (ConnectionToken) -> Void
    ) {
        var i = start
        while i < end {
            while i < end, bytes[i] == sp || bytes[i] == htab || bytes[i] == comma { i += 1 }
            let tokenStart = i
            while i < end, bytes[i] != comma, bytes[i] != sp, bytes[i] != htab { i += 1 }
            let length = i - tokenStart
            if length == 5, matches(bytes, tokenStart, "close") {
                body(.close)
            } else if length == 10, matches(bytes, tokenStart, "keep-alive") {
                body(.keepAlive)
            } else if length > 0 {
                body(.other)
            }
        }
    }

    /// The bytes at `start` spell `lower` in any case (`| 0x20` lowercases letters and leaves `-` alone).
    @inline(__always)
    static func matches(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ lower: StaticString) -> Bool {
        let pointer = lower.utf8Start
        for k in 0..<lower.utf8CodeUnitCount where bytes[start + k] | 0x20 != pointer[k] { return false }
        return true
    }

    // MARK: Bytes

    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let sp: UInt8 = 0x20
    static let htab: UInt8 = 0x09
    static let del: UInt8 = 0x7F
    static let colon: UInt8 = 0x3A
    static let comma: UInt8 = 0x2C
    static let slash: UInt8 = 0x2F
    static let dot: UInt8 = 0x2E
    static let zero: UInt8 = 0x30

    /// RFC 9110 tchar: ALPHA / DIGIT / "!#$%&'*+-.^_`|~".
    @inline(__always)
    static func isToken(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
            UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "^"), UInt8(ascii: "`"),
            UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b >= zero && b <= zero + 9 }

    static func methodKind(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> EdgeRequest.Method {
        // Methods are case-sensitive: `get` is not GET.
        switch end - start {
        case 3 where bytes[start] == 0x47 && bytes[start + 1] == 0x45 && bytes[start + 2] == 0x54:
            return .get
        case 4
        where bytes[start] == 0x48 && bytes[start + 1] == 0x45 && bytes[start + 2] == 0x41
            && bytes[start + 3] == 0x44:
            return .head
        case 7 where matchesExactly(bytes, start, "OPTIONS"):
            return .options
        default:
            return .other
        }
    }

    static func matchesExactly(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ text: StaticString) -> Bool {
        let pointer = text.utf8Start
        for k in 0..<text.utf8CodeUnitCount where bytes[start + k] != pointer[k] { return false }
        return true
    }

    static func decimal(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Int? {
        guard end > start, end - start <= 18 else { return nil }
        var n = 0
        for k in start..<end {
            guard isDigit(bytes[k]) else { return nil }
            n = n * 10 + Int(bytes[k] - zero)
        }
        return n
    }

    /// The bytes as a String: ASCII (the usual case) directly, anything else only if valid UTF-8.
    @inline(__always)
    static func string(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> String? {
        let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
        var ascii = true
        for b in slice where b >= 0x80 {
            ascii = false
            break
        }
        if ascii { return String(decoding: slice.assumingMemoryBound(to: UInt8.self), as: UTF8.self) }
        return String(validating: slice, as: UTF8.self)
    }

    static func append(
        _ field: inout String?, _ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ separator: String
    ) {
        guard let value = string(bytes, start, end) else { return }
        if let existing = field {
            field = existing + separator + value
        } else {
            field = value
        }
    }
}
