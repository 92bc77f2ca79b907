import CanopyStore
import Foundation
import NIOCore
import NIOHTTP1

/// One response: its head (and a small body) has been appended to the connection's output
/// buffer; larger bodies follow as parts (a shared memory buffer or a sendfile region).
struct EdgeResponse {
    enum Part {
        case buffer(ByteBuffer)
        case file(SharedBlob, offset: Int64, length: Int64)
    }

    var status: Int
    var body: [Part] = []
    /// Body bytes sent, inline or in parts.
    var bodyBytes: Int = 0
    /// The target that answered, for its counters.
    var target: CompiledTarget?
    /// For a body the body cache could hold: whether it did (a hit) or not (a miss); nil otherwise.
    var cacheHit: Bool?
    /// A proxy rule matched: nothing was written, and the connection sends the request there.
    var proxy: ProxyTarget?
}

/// Turns a request into a response, synchronously, from one routing snapshot: no locks, no async
/// hops, and no filesystem calls (files are looked up in the deployment's dictionary only). Heads
/// are appended to the caller's output buffer, so a batch of pipelined responses is one write.
struct Responder {

    static let statusLines: [Int: [UInt8]] = {
        var lines: [Int: [UInt8]] = [:]
        for code in [200, 204, 206, 301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 405, 412, 416, 500, 501, 505] {
            let reason = HTTPResponseStatus(statusCode: code).reasonPhrase
            lines[code] = Array("HTTP/1.1 \(code) \(reason)\r\n".utf8)
        }
        return lines
    }()

    static let ok: [UInt8] = Array("HTTP/1.1 200 OK\r\n".utf8)

    /// The status line of `code`: prebuilt for the common ones, made for others (a rule's 410 or 451).
    static func statusLine(_ code: Int) -> [UInt8] {
        statusLines[code] ?? Array("HTTP/1.1 \(code) \(HTTPResponseStatus(statusCode: code).reasonPhrase)\r\n".utf8)
    }

    // MARK: Entry

    /// Answers `request`; `out` receives the head (and small bodies).
    static func respond(
        _ request: EdgeRequest, snapshot: EdgeSnapshot, date: [UInt8], out: inout ByteBuffer
    )
        -> EdgeResponse
    {
        var context = ResponseContext(
            date: date, isHead: request.method == .head, route: nil, newVisitor: nil, host: "",
            connection: connectionLine(request))
        let isHead = context.isHead
        // Other methods are answered here, unless a proxy rule may take them (see `serve`).
        guard request.method == .get || isHead || snapshot.mayProxy else {
            return methodAnswer(request, &out, context)
        }
        let target: RequestTarget
        do {
            target = try RequestTarget.parse(request.uri)
        } catch {
            return simple(400, &out, context, body: "Bad request path.")
        }
        guard let rawHost = target.host ?? request.host else {
            return simple(400, &out, context, body: "A Host header is required.")
        }
        if !request.isSecure && request.uri.hasPrefix(challengePrefix) {
            return challenge(request.uri, snapshot: snapshot, &out, context)
        }
        let host = normaliseHost(rawHost)
        context.host = host
        guard let route = snapshot.routes[host] else {
            return write(unknownHost, &out, context)
        }
        if request.method != .get && !isHead && !route.mayProxy { return methodAnswer(request, &out, context) }
        if request.isSecure {
            context.secure = true
            context.hsts = route.hstsLine
        } else if let https = route.httpsRedirect {
            return redirectToHTTPS(https, request.uri, &out, context)
        }
        if let expected = route.expectedAuthorization {
            let given = request.authorization.map { Array($0.utf8) } ?? []
            if !constantTimeEqual(given, expected) {
                return simple(
                    401, &out, context,
                    extra: route.authenticateHeader + "Cache-Control: private, no-store\r\nVary: Authorization\r\n",
                    body: "This site is protected: sign in with its user name and password.")
            }
        }
        // Pick the visitor's deployment.
        var forced = request.canopyTarget
        var cookie: Double?
        if route.isSplit {
            if forced == nil, let q = queryValue(target.query, "canopy-target") { forced = q }
            cookie = splitCookie(request.cookie)
        }
        var newVisitor: Double?
        let chosen = route.select(forced: forced, cookie: cookie, newVisitor: &newVisitor)
        context.route = route
        context.newVisitor = forced == nil ? newVisitor : nil
        var response = serve(request, target: target, deployment: chosen.deployment, context: &context, out: &out)
        response.target = chosen
        return response
    }

    /// A method a static host does not serve: 204 with `Allow` for OPTIONS, else 405.
    static func methodAnswer(
        _ request: EdgeRequest, _ out: inout ByteBuffer, _ context: ResponseContext
    )
        -> EdgeResponse
    {
        if request.method == .options {
            return simple(204, &out, context, extra: "Allow: GET, HEAD, OPTIONS\r\n", body: nil)
        }
        return simple(
            405, &out, context, extra: "Allow: GET, HEAD, OPTIONS\r\n",
            body: "Method not allowed: this static host answers GET and HEAD.")
    }

    /// What a response says about the connection: nothing for HTTP/1.1 keep-alive (the default),
    /// `keep-alive` for an HTTP/1.0 client that asked for it, `close` when it closes.
    static func connectionLine(_ request: EdgeRequest) -> StaticString? {
        if !request.keepAlive { return "Connection: close\r\n" }
        return request.minorVersion == 0 ? "Connection: keep-alive\r\n" : nil
    }

    struct ResponseContext {
        var date: [UInt8]
        var isHead: Bool
        var route: CompiledRoute?
        var newVisitor: Double?
        var host: String
        var connection: StaticString?
        /// Answered over TLS: split cookies are `Secure`.
        var secure = false
        /// The route's `Strict-Transport-Security` line (HTTPS responses only).
        var hsts: [UInt8]? = nil
        /// Custom headers chosen for the requested path when they are not the served file's own
        /// (a rewrite, a 404 page); nil for a file served at its own path.
        var custom: CustomHeaders? = nil
        /// Request fields a matching rule's condition read: the answer names them in `Vary`.
        var vary = RuleVary()
    }

    // MARK: Files

    enum Lookup {
        case file(ServedFile)
        case slashRedirect(String)
        case missing
    }

    /// Amplify's trailing-slash behaviour: exact file; `/` and `/dir/` → index.html; `/about` →
    /// about.html when it exists, else 301 to `/about/` when about/index.html exists.
    /// Clean URLs are looked up in `cleanFiles`, whose entries carry the headers of the path asked for.
    static func lookup(_ deployment: ServedDeployment, path: String, trailingSlash: Bool) -> Lookup {
        if path.isEmpty { return deployment.cleanFiles[""].map(Lookup.file) ?? .missing }
        if trailingSlash {
            if let index = deployment.cleanFiles[path + "/"] { return .file(index) }
            return .missing
        }
        if let file = deployment.files[path] { return .file(file) }
        if let html = deployment.cleanFiles[path] { return .file(html) }
        if deployment.cleanFiles[path + "/"] != nil { return .slashRedirect("/" + path + "/") }
        return .missing
    }

    /// A file's response: conditionals (304/412), ranges (206/416), content coding, custom headers.
    static func serveFile(
        _ request: EdgeRequest, file: ServedFile, status: Int, deployment: ServedDeployment,
        _ context: ResponseContext, _ out: inout ByteBuffer
    ) -> EdgeResponse {
        let identity = file.identity
        var ranges: ByteRanges.Result = .none
        if status == 200, let rangeHeader = request.range {
            var honour = true
            if let ifRange = request.ifRange {
                if ifRange.hasPrefix("\"") || ifRange.hasPrefix("W/") {
                    honour = ifRange == identity.etag
                } else {
                    honour = HTTPDate.parse(ifRange) == file.lastModifiedSeconds
                }
            }
            if honour { ranges = ByteRanges.parse(rangeHeader, length: identity.size) }
        }
        let variant: ServedVariant
        if case .none = ranges {
            variant = file.variant(for: request.acceptEncoding)
        } else {
            variant = identity  // ranges apply to the identity bytes; a 206 is never compressed
        }

        if status == 200 {
            if let ifMatch = request.ifMatch, !ETagMatch.strongMatch(ifMatch, variant.etag) {
                return simple(412, &out, context, extra: "ETag: \(variant.etag)\r\n", body: "Precondition failed.")
            }
            if request.ifMatch == nil, let ius = request.ifUnmodifiedSince, let date = HTTPDate.parse(ius),
                file.lastModifiedSeconds > date
            {
                return simple(412, &out, context, body: "Precondition failed.")
            }
            var notModified = false
            if let inm = request.ifNoneMatch {
                notModified = ETagMatch.weakMatch(inm, variant.etag)
            } else if let ims = request.ifModifiedSince, let date = HTTPDate.parse(ims) {
                notModified = file.lastModifiedSeconds <= date
            }
            if notModified {
                out.writeBytes(statusLines[304]!)
                out.writeBytes(context.date)
                out.writeString("ETag: \(variant.etag)\r\n")
                out.writeString("Cache-Control: \(cacheControl(file, context))\r\n")
                writeCommon(&out, file: file, context: context)
                endHead(&out, context)
                return EdgeResponse(status: 304)
            }
        }

        // Where the bytes come from, before any head is written: a blob that cannot be opened is a 500.
        var source: BlobEntry.Source?
        if !context.isHead {
            switch ranges {
            case .ranges: source = identity.body.source()
            case .none: source = variant.body.source()
            case .unsatisfiable: break
            }
            if case .unavailable = source {
                return write(unreadable, &out, context)
            }
        }
        switch ranges {
        case .unsatisfiable:
            out.writeBytes(statusLines[416]!)
            out.writeBytes(context.date)
            out.writeString(
                "Content-Range: bytes */\(identity.size)\r\nContent-Length: 0\r\nX-Canopy-Deployment: \(deployment.id)\r\n"
            )
            endHead(&out, context)
            return EdgeResponse(status: 416)
        case .ranges(let list) where list.count == 1:
            let r = list[0]
            let length = r.upperBound - r.lowerBound + 1
            out.writeBytes(statusLines[206]!)
            out.writeBytes(context.date)
            out.writeString(
                "Content-Range: bytes \(r.lowerBound)-\(r.upperBound)/\(identity.size)\r\nContent-Length: \(length)\r\nETag: \(identity.etag)\r\n"
            )
            out.writeString("Cache-Control: \(cacheControl(file, context))\r\n")
            writeCommon(&out, file: file, context: context)
            endHead(&out, context)
            var response = EdgeResponse(status: 206)
            if let source {
                response.body = [slice(source, offset: r.lowerBound, length: length)]
                response.bodyBytes = Int(length)
                response.cacheHit = source.cacheHit
            }
            return response
        case .ranges(let list):
            let boundary = "canopy-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
            var parts: [EdgeResponse.Part] = []
            var total = 0
            for r in list {
                let length = r.upperBound - r.lowerBound + 1
                let partHead =
                    "\r\n--\(boundary)\r\nContent-Type: \(file.contentType)\r\nContent-Range: bytes \(r.lowerBound)-\(r.upperBound)/\(identity.size)\r\n\r\n"
                parts.append(.buffer(ByteBuffer(string: partHead)))
                if let source { parts.append(slice(source, offset: r.lowerBound, length: length)) }
                total += partHead.utf8.count + Int(length)
            }
            let closing = "\r\n--\(boundary)--\r\n"
            parts.append(.buffer(ByteBuffer(string: closing)))
            total += closing.utf8.count
            out.writeBytes(statusLines[206]!)
            out.writeBytes(context.date)
            out.writeString(
                "Content-Type: multipart/byteranges; boundary=\(boundary)\r\nContent-Length: \(total)\r\nETag: \(identity.etag)\r\n"
            )
            out.writeString(
                "Cache-Control: \(cacheControl(file, context))\r\nX-Canopy-Deployment: \(deployment.id)\r\nAccept-Ranges: bytes\r\n"
            )
            out.writeString(cookieLine(context))
            endHead(&out, context)
            var response = EdgeResponse(status: 206)
            if let source {
                response.body = parts
                response.bodyBytes = total
                response.cacheHit = source.cacheHit
            }
            return response
        case .none:
            break
        }
        out.writeBytes(status == 200 ? ok : statusLine(status))
        out.writeBytes(context.date)
        out.writeBytes(variant.fullHeaders)
        writeCacheControl(&out, file: file, context: context, status: status)
        writeCommon(&out, file: file, context: context)
        endHead(&out, context)
        var response = EdgeResponse(status: status)
        if let source {
            switch source {
            case .memory(let bytes) where bytes.readableBytes <= inlineLimit:
                out.writeImmutableBuffer(bytes)
                response.cacheHit = true
            case .memory(let bytes):
                response.body = [.buffer(bytes)]
                response.cacheHit = true
            case .file(let blob, let miss):
                response.body = [.file(blob, offset: 0, length: blob.size)]
                if miss { response.cacheHit = false }
            case .unavailable:
                break
            }
            response.bodyBytes = Int(variant.size)
        }
        return response
    }

    /// Bodies up to this size are copied into the output buffer after the head (one write for
    /// both); larger ones are written as their own shared buffer.
    static let inlineLimit = 16 << 10

    private static func slice(_ source: BlobEntry.Source, offset: Int64, length: Int64) -> EdgeResponse.Part {
        switch source {
        case .memory(let bytes):
            return .buffer(bytes.getSlice(at: bytes.readerIndex + Int(offset), length: Int(length))!)
        case .file(let blob, _): return .file(blob, offset: offset, length: length)
        case .unavailable: return .buffer(ByteBuffer())  // not reached: answered with a 500 before
        }
    }

    /// The answer when a deployment's blob file cannot be opened (the store lost or locked it).
    static let unreadable = CannedAnswer(
        status: 500, body: "This file cannot be read from the deployment store.",
        title: "Canopy: file unreadable")

    @inline(__always)
    static func endHead(_ out: inout ByteBuffer, _ context: ResponseContext) {
        if let hsts = context.hsts { out.writeBytes(hsts) }
        if let line = context.connection {
            out.writeStaticString(line)
        }
        out.writeStaticString("\r\n")
    }

    private static func writeCommon(_ buffer: inout ByteBuffer, file: ServedFile, context: ResponseContext) {
        if let custom = context.custom {
            buffer.writeBytes(file.baseHeaders)
            buffer.writeBytes(custom.lines)
        } else {
            buffer.writeBytes(file.commonHeaders)
        }
        if !context.vary.isEmpty { buffer.writeString(context.vary.line) }
        if let route = context.route {
            if route.route.noindex { buffer.writeStaticString("X-Robots-Tag: noindex\r\n") }
            if route.expectedAuthorization != nil { buffer.writeStaticString("Vary: Authorization\r\n") }
        }
        if context.newVisitor != nil { buffer.writeString(cookieLine(context)) }
    }

    static func cookieLine(_ context: ResponseContext) -> String {
        guard let r = context.newVisitor else { return "" }
        return
            "Set-Cookie: canopy-split=\(String(format: "%.6f", r)); Path=/; Max-Age=2592000; SameSite=Lax; HttpOnly\(context.secure ? "; Secure" : "")\r\n"
    }

    /// The `Cache-Control` line of a full response: the file's own, precomputed, unless the route
    /// rewrites it (see `cacheControl`); `no-cache` for a page served with another status.
    @inline(__always)
    private static func writeCacheControl(
        _ buffer: inout ByteBuffer, file: ServedFile, context: ResponseContext, status: Int
    ) {
        if status != 200 {
            buffer.writeStaticString("Cache-Control: no-cache\r\n")
        } else if context.custom != nil {
            buffer.writeString("Cache-Control: \(cacheControl(file, context))\r\n")
        } else if let route = context.route, route.expectedAuthorization != nil || route.isSplit {
            buffer.writeString("Cache-Control: \(cacheControl(file, context))\r\n")
        } else {
            buffer.writeBytes(file.cacheControlLine)
        }
    }

    /// Protected responses are never stored by shared caches; a split's responses are per visitor.
    private static func cacheControl(_ file: ServedFile, _ context: ResponseContext) -> String {
        let own = context.custom.map { $0.cacheControl ?? file.defaultCacheControl } ?? file.cacheControl
        guard let route = context.route else { return own }
        if route.expectedAuthorization != nil { return "private, no-store" }
        if route.isSplit {
            if own.hasPrefix("public") { return "private" + own.dropFirst(6) }
            return own.contains("private") ? own : "private, " + own
        }
        return own
    }

    // MARK: Small answers

    static func simple(
        _ status: Int, _ out: inout ByteBuffer, _ context: ResponseContext, extra: String = "", body: String?,
        title: String? = nil, cache: String = "no-store"
    ) -> EdgeResponse {
        write(CannedAnswer(status: status, extra: extra, body: body, title: title, cache: cache), &out, context)
    }

    /// Writes a canned answer: its status line, the Date, its prebuilt lines, the connection line.
    static func write(_ answer: CannedAnswer, _ out: inout ByteBuffer, _ context: ResponseContext) -> EdgeResponse {
        out.writeBytes(answer.statusLine)
        out.writeBytes(context.date)
        out.writeBytes(answer.headers)
        endHead(&out, context)
        if context.isHead || answer.body.isEmpty { return EdgeResponse(status: answer.status) }
        out.writeBytes(answer.body)
        return EdgeResponse(status: answer.status, bodyBytes: answer.body.count)
    }

    static let unknownHost = CannedAnswer(
        status: 404, body: "No site is served at this hostname.", title: "Canopy: unknown host")

    // MARK: Helpers

    private static func splitCookie(_ header: String?) -> Double? {
        guard let header, let range = header.range(of: "canopy-split=") else { return nil }
        let value = header[range.upperBound...].prefix { $0 != ";" && $0 != " " }
        return Double(value)
    }

    private static func queryValue(_ query: String, _ name: String) -> String? {
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            if kv.count == 2 && kv[0] == name { return String(kv[1]).removingPercentEncoding }
        }
        return nil
    }
}

/// A small answer of Canopy's own (an error page, a redirect) with every byte but the Date and
/// the connection line built once.
struct CannedAnswer: Sendable {
    let status: Int
    let statusLine: [UInt8]
    /// Header lines after Date, without the connection line and the blank line.
    let headers: [UInt8]
    let body: [UInt8]

    init(status: Int, extra: String = "", body: String?, title: String? = nil, cache: String = "no-store") {
        self.status = status
        let reason = HTTPResponseStatus(statusCode: status).reasonPhrase
        statusLine = Responder.statusLine(status)
        var lines = "Server: canopy\r\nCache-Control: \(cache)\r\n" + extra
        if let body {
            let html =
                "<!doctype html><html><head><meta charset=\"utf-8\"><title>\(title ?? "\(status) \(reason)")</title></head><body><h1>\(status) \(reason)</h1><p>\(body)</p><p><small>canopy</small></p></body></html>\n"
            lines += "Content-Type: text/html; charset=utf-8\r\nContent-Length: \(html.utf8.count)\r\n"
            self.body = Array(html.utf8)
        } else {
            self.body = []
        }
        headers = Array(lines.utf8)
    }
}
