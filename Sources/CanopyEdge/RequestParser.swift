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
}
