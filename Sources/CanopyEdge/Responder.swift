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

    /// Answers `request`; `out` receives the head (and small bodies). `visitor`: the connection's
    /// country, for rules with a Country condition (nil when the edge has no GeoIP database).
    static func respond(
        _ request: EdgeRequest, snapshot: EdgeSnapshot, date: [UInt8], visitor: VisitorCountry? = nil,
        out: inout ByteBuffer
    )
        -> EdgeResponse
    {
        var context = ResponseContext(
            date: date, isHead: request.method == .head, route: nil, newVisitor: nil, host: "",
            connection: connectionLine(request))
        context.visitor = visitor
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
        /// The connection's country, read only by rules with a Country condition.
        var visitor: VisitorCountry? = nil
    }

    // MARK: Small answers

    @inline(__always)
    static func endHead(_ out: inout ByteBuffer, _ context: ResponseContext) {
        if let hsts = context.hsts { out.writeBytes(hsts) }
        if let line = context.connection {
            out.writeStaticString(line)
        }
        out.writeStaticString("\r\n")
    }

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
