/// One request head, as the edge needs it: the request line and the few headers that change a
/// static response. Everything else a client sends is checked for syntax and then ignored.
struct EdgeRequest {
    enum Method: Equatable {
        case get, head, options
        /// Any other valid method token (answered 405).
        case other
    }

    var method: Method
    /// The method as sent (for the access log).
    var methodName: String
    /// The request target as sent: origin form (`/a?b`) or absolute form (`http://host/a`).
    var uri: String
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    var minorVersion: Int
    /// The connection stays open after this response.
    var keepAlive: Bool
    var host: String?
    var acceptEncoding: String?
    /// Read only by rules with a `Language=` condition.
    var acceptLanguage: String?
    var range: String?
    var ifRange: String?
    var ifMatch: String?
    var ifNoneMatch: String?
    var ifModifiedSince: String?
    var ifUnmodifiedSince: String?
    var authorization: String?
    /// `Cookie` lines joined with `; `.
    var cookie: String?
    var canopyTarget: String?
    var referer: String?
    var userAgent: String?

    init(method: Method, methodName: String, uri: String, minorVersion: Int = 1) {
        self.method = method
        self.methodName = methodName
        self.uri = uri
        self.minorVersion = minorVersion
        self.keepAlive = minorVersion >= 1
    }

    /// The declared Content-Length (0 without one), whether the client waits for `100 Continue`,
    /// and whether it would keep the connection after a body the edge reads: what a proxied
    /// request needs (a static answer skips the body, or closes).
    var bodyLength = 0
    /// The body is chunked (`Transfer-Encoding: chunked`, its only coding): its length is not known
    /// until its last chunk (`bodyLength` is 0).
    var chunked = false
    var expectsContinue = false
    var persistent = true

    /// Arrived as an HTTP/2 stream.
    var isHTTP2 = false
    /// Arrived over TLS.
    var isSecure = false

    var version: String { isHTTP2 ? "HTTP/2.0" : minorVersion == 0 ? "HTTP/1.0" : "HTTP/1.1" }
}

/// A byte-level HTTP/1.1 request-head parser (RFC 9112), strict where laxness enables request
/// smuggling: no obs-fold, no whitespace before a header's colon, no bare LF, no control bytes in
/// values, one Host, one Content-Length value, and Transfer-Encoding only as RFC 9112 §6 frames a
/// request unambiguously (`chunked` alone and last, never with Content-Length, never in HTTP/1.0;
/// see `TransferCodings`). It works on the receive buffer in place and allocates only the strings
/// it keeps.
enum RequestParser {
    /// The request line may be this long (longer: 414).
    static let maxRequestLine = 8 << 10
    /// The whole head may be this long, and have this many header lines (more: 431).
    static let maxHead = 16 << 10
    static let maxHeaders = 128
    /// A request body up to this size is read and discarded to keep the connection; a larger one
    /// closes it after the answer.
    static let maxSkippedBody = 64 << 10

    enum Outcome {
        /// More bytes are needed; nothing before `scanned` holds the end of the head.
        case incomplete(scanned: Int)
        /// A complete head of `length` bytes (leading empty lines included), followed by a body of
        /// `bodyLength` bytes that must be skipped.
        case request(EdgeRequest, length: Int, bodyLength: Int)
        /// The bytes are not a request this server will answer: reply with `status` and close.
        case failure(status: Int, reason: String, method: EdgeRequest.Method)
    }

    /// Parses one request head from the start of `bytes`. `scanFrom` is where the search for the
    /// end of the head may resume (what an earlier `incomplete` returned).
    /// Where the first CRLF CRLF at or after `from` starts; nil when there is none yet. Skips
    /// ahead by the last byte of each window, so most bytes are looked at once. Also used to read
    /// the Responder's own heads back for HTTP/2.
    @inline(__always)
    static func headTerminator(_ bytes: UnsafeRawBufferPointer, from: Int) -> Int? {
        var i = from
        let count = bytes.count
        while i + 3 < count {
            if bytes[i + 3] != lf {
                i += bytes[i + 3] == cr ? 1 : 4
                continue
            }
            if bytes[i] == cr && bytes[i + 1] == lf && bytes[i + 2] == cr { return i }
            i += 1
        }
        return nil
    }

    static func parse(_ bytes: UnsafeRawBufferPointer, scanFrom: Int = 0) -> Outcome {
        let count = bytes.count
        // At least one empty line before the request line is ignored (RFC 9112 §2.2).
        var start = 0
        while start + 1 < count, bytes[start] == cr, bytes[start + 1] == lf { start += 2 }
        if start > maxHead { return .failure(status: 400, reason: "Too many empty lines.", method: .other) }
        if start >= count || (start + 1 == count && bytes[start] == cr) { return .incomplete(scanned: 0) }

        // Find the end of the head: CRLF CRLF.
        let end = headTerminator(bytes, from: max(start, scanFrom)).map { $0 + 4 } ?? -1
        if end < 0 {
            let lineEnd = firstLineEnd(bytes, from: start, limit: maxRequestLine)
            if lineEnd == nil, count - start > maxRequestLine {
                return .failure(status: 414, reason: "The request line is too long.", method: .other)
            }
            if let lineEnd, lineEnd == start || bytes[lineEnd - 1] != cr {
                return .failure(status: 400, reason: "Lines must end with CRLF.", method: .other)
            }
            if count - start > maxHead {
                return .failure(status: 431, reason: "The request headers are too large.", method: .other)
            }
            return .incomplete(scanned: max(start, count - 3))
        }
        if end - start > maxHead {
            return firstLineEnd(bytes, from: start, limit: maxRequestLine) == nil
                ? .failure(status: 414, reason: "The request line is too long.", method: .other)
                : .failure(status: 431, reason: "The request headers are too large.", method: .other)
        }
        return parseHead(bytes, from: start, end: end)
    }

    /// The index of the LF ending the first line, if it is within `limit` bytes of `from`.
    private static func firstLineEnd(_ bytes: UnsafeRawBufferPointer, from: Int, limit: Int) -> Int? {
        var i = from
        let stop = min(bytes.count, from + limit + 2)
        while i < stop {
            if bytes[i] == lf { return i }
            i += 1
        }
        return nil
    }

    // MARK: The head

    private static func parseHead(_ bytes: UnsafeRawBufferPointer, from start: Int, end: Int) -> Outcome {
        // Request line: method SP request-target SP HTTP-version CRLF
        var i = start
        while i < end, isToken(bytes[i]) { i += 1 }
        let methodEnd = i
        guard methodEnd > start, methodEnd < end, bytes[methodEnd] == sp else {
            return .failure(status: 400, reason: "Malformed request line.", method: .other)
        }
        let method = methodKind(bytes, start, methodEnd)
        i += 1
        let targetStart = i
        while i < end, bytes[i] > sp, bytes[i] != del { i += 1 }
        let targetEnd = i
        guard targetEnd > targetStart, targetEnd < end, bytes[targetEnd] == sp else {
            return .failure(status: 400, reason: "Malformed request line.", method: method)
        }
        if targetEnd - start > maxRequestLine {
            return .failure(status: 414, reason: "The request line is too long.", method: method)
        }
        i += 1
        // HTTP-version = "HTTP/" DIGIT "." DIGIT, then CRLF
        guard i + 9 < end, bytes[i] == 0x48, bytes[i + 1] == 0x54, bytes[i + 2] == 0x54, bytes[i + 3] == 0x50,
            bytes[i + 4] == slash, isDigit(bytes[i + 5]), bytes[i + 6] == dot, isDigit(bytes[i + 7]),
            bytes[i + 8] == cr, bytes[i + 9] == lf
        else {
            return .failure(status: 400, reason: "Malformed request line.", method: method)
        }
        let major = bytes[i + 5] - zero
        let minor = bytes[i + 7] - zero
        guard major == 1, minor <= 1 else {
            return .failure(status: 505, reason: "This server speaks HTTP/1.1 and HTTP/1.0.", method: method)
        }
        guard let uri = string(bytes, targetStart, targetEnd) else {
            return .failure(status: 400, reason: "The request target is not valid UTF-8.", method: method)
        }
        var request = EdgeRequest(
            method: method, methodName: string(bytes, start, methodEnd) ?? "-", uri: uri, minorVersion: Int(minor))
        i += 10

        // Header fields: name ":" OWS value OWS CRLF, until the empty line.
        var close = false
        var keepAliveToken = false
        var contentLength: Int?
        var transfer = TransferCodings()
        var expectsContinue = false
        var headerCount = 0
        while i < end - 2 {
            headerCount += 1
            if headerCount > maxHeaders {
                return .failure(status: 431, reason: "Too many request headers.", method: method)
            }
            let nameStart = i
            while isToken(bytes[i]) { i += 1 }
            let nameEnd = i
            guard nameEnd > nameStart, bytes[nameEnd] == colon else {
                // Covers obs-fold (a line starting with SP or HTAB), a space before the colon, and
                // a line without a colon.
                return .failure(status: 400, reason: "Malformed header line.", method: method)
            }
            i += 1
            while bytes[i] == sp || bytes[i] == htab { i += 1 }
            let valueStart = i
            while true {
                let b = bytes[i]
                if b == cr { break }
                guard b == htab || (b >= sp && b != del) else {
                    return .failure(status: 400, reason: "A header value holds a control character.", method: method)
                }
                i += 1
            }
            guard bytes[i + 1] == lf else {
                return .failure(status: 400, reason: "A header value holds a control character.", method: method)
            }
            var valueEnd = i
            while valueEnd > valueStart, bytes[valueEnd - 1] == sp || bytes[valueEnd - 1] == htab { valueEnd -= 1 }
            i += 2

            guard let field = Field(bytes, nameStart, nameEnd) else { continue }
            switch field {
            case .host:
                if request.host != nil {
                    return .failure(status: 400, reason: "More than one Host header.", method: method)
                }
                request.host = string(bytes, valueStart, valueEnd) ?? ""
            case .connection:
                scanTokens(bytes, valueStart, valueEnd) { token in
                    if token == .close { close = true }
                    if token == .keepAlive { keepAliveToken = true }
                }
            case .contentLength:
                guard let n = decimal(bytes, valueStart, valueEnd), contentLength == nil || contentLength == n else {
                    return .failure(status: 400, reason: "Invalid Content-Length.", method: method)
                }
                contentLength = n
            case .transferEncoding:
                transfer.add(bytes, valueStart, valueEnd)
            case .expect:
                expectsContinue = true
            case .acceptEncoding: append(&request.acceptEncoding, bytes, valueStart, valueEnd, ", ")
            case .acceptLanguage: append(&request.acceptLanguage, bytes, valueStart, valueEnd, ", ")
            case .range: request.range = string(bytes, valueStart, valueEnd)
            case .ifRange: request.ifRange = string(bytes, valueStart, valueEnd)
            case .ifMatch: append(&request.ifMatch, bytes, valueStart, valueEnd, ", ")
            case .ifNoneMatch: append(&request.ifNoneMatch, bytes, valueStart, valueEnd, ", ")
            case .ifModifiedSince: request.ifModifiedSince = string(bytes, valueStart, valueEnd)
            case .ifUnmodifiedSince: request.ifUnmodifiedSince = string(bytes, valueStart, valueEnd)
            case .authorization: request.authorization = string(bytes, valueStart, valueEnd)
            case .cookie: append(&request.cookie, bytes, valueStart, valueEnd, "; ")
            case .canopyTarget: request.canopyTarget = string(bytes, valueStart, valueEnd)
            case .referer: request.referer = string(bytes, valueStart, valueEnd)
            case .userAgent: request.userAgent = string(bytes, valueStart, valueEnd)
            }
        }
        if transfer.present {
            if let (status, reason) = transfer.refusal(http10: minor == 0, contentLength: contentLength != nil) {
                return .failure(status: status, reason: reason, method: method)
            }
            request.chunked = true
        }
        if minor == 1, request.host == nil {
            return .failure(status: 400, reason: "A Host header is required.", method: method)
        }
        let bodyLength = contentLength ?? 0
        // A body is skipped so that the next request can be read, unless the client waits for
        // `100 Continue` (it may never send the body) or the body is large: then the connection
        // closes after the answer instead.
        // (A chunked body is skipped up to `maxSkippedBody` too: see EdgeHandler.)
        let skippable =
            request.chunked ? !expectsContinue : bodyLength == 0 || (!expectsContinue && bodyLength <= maxSkippedBody)
        request.bodyLength = bodyLength
        request.expectsContinue = expectsContinue
        request.persistent = !close && (minor == 1 || keepAliveToken)
        request.keepAlive = request.persistent && skippable
        return .request(request, length: end, bodyLength: skippable ? bodyLength : 0)
    }

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

    private enum ConnectionToken { case close, keepAlive, other }

    private static func scanTokens(
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

    private static let cr: UInt8 = 0x0D
    private static let lf: UInt8 = 0x0A
    private static let sp: UInt8 = 0x20
    private static let htab: UInt8 = 0x09
    private static let del: UInt8 = 0x7F
    private static let colon: UInt8 = 0x3A
    private static let comma: UInt8 = 0x2C
    private static let slash: UInt8 = 0x2F
    private static let dot: UInt8 = 0x2E
    private static let zero: UInt8 = 0x30

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
    private static func isDigit(_ b: UInt8) -> Bool { b >= zero && b <= zero + 9 }

    private static func methodKind(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> EdgeRequest.Method {
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

    private static func matchesExactly(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ text: StaticString) -> Bool {
        let pointer = text.utf8Start
        for k in 0..<text.utf8CodeUnitCount where bytes[start + k] != pointer[k] { return false }
        return true
    }

    private static func decimal(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Int? {
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
    private static func string(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> String? {
        let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
        var ascii = true
        for b in slice where b >= 0x80 {
            ascii = false
            break
        }
        if ascii { return String(decoding: slice.assumingMemoryBound(to: UInt8.self), as: UTF8.self) }
        return String(validating: slice, as: UTF8.self)
    }

    private static func append(
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
