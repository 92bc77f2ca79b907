import Foundation
import NIOCore
import NIOHTTP1

/// One response, ready to write: the head bytes and the body parts (memory or sendfile).
struct EdgeResponse {
    enum Part {
        case buffer(ByteBuffer)
        case file(NIOFileHandle, offset: Int64, length: Int64)
    }

    var status: Int
    var head: ByteBuffer
    var body: [Part] = []
    var bodyBytes: Int = 0
    /// The target that answered, for its counters.
    var target: CompiledTarget?
    var close = false
}

/// Turns a request into a response, synchronously, from one routing snapshot: no locks, no async
/// hops, and no filesystem calls (files are looked up in the deployment's dictionary only).
struct Responder {
    let allocator: ByteBufferAllocator

    static let statusLines: [Int: [UInt8]] = {
        var lines: [Int: [UInt8]] = [:]
        for code in [200, 204, 206, 301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 405, 412, 416, 500, 501, 505] {
            let reason = HTTPResponseStatus(statusCode: code).reasonPhrase
            lines[code] = Array("HTTP/1.1 \(code) \(reason)\r\n".utf8)
        }
        return lines
    }()

    // MARK: Entry

    func respond(_ head: HTTPRequestHead, snapshot: EdgeSnapshot, date: [UInt8]) -> EdgeResponse {
        var response = route(head, snapshot: snapshot, date: date)
        if !head.isKeepAlive { response.close = true }
        return response
    }

    private func route(_ head: HTTPRequestHead, snapshot: EdgeSnapshot, date: [UInt8]) -> EdgeResponse {
        let isHead = head.method == .HEAD
        guard head.method == .GET || isHead else {
            if head.method == .OPTIONS {
                return simple(204, date: date, extra: "Allow: GET, HEAD, OPTIONS\r\n", body: nil, isHead: true)
            }
            return simple(
                405, date: date, extra: "Allow: GET, HEAD, OPTIONS\r\n",
                body: "Method not allowed: this static host answers GET and HEAD.", isHead: isHead)
        }
        let target: RequestTarget
        do {
            target = try RequestTarget.parse(head.uri)
        } catch {
            return simple(400, date: date, body: "Bad request path.", isHead: isHead)
        }
        let hostHeader: Substring? = head.headers.first(name: "host").map { Substring($0) }
        guard let rawHost = target.host ?? hostHeader else {
            return simple(400, date: date, body: "A Host header is required.", isHead: isHead)
        }
        let host = normaliseHost(rawHost)
        guard let route = snapshot.routes[host] else {
            return simple(
                404, date: date, body: "No site is served at this hostname.", isHead: isHead,
                title: "Canopy: unknown host")
        }
        if let expected = route.expectedAuthorization {
            let given = head.headers.first(name: "authorization").map { Array($0.utf8) } ?? []
            if !constantTimeEqual(given, expected) {
                return simple(
                    401, date: date,
                    extra: route.authenticateHeader + "Cache-Control: private, no-store\r\nVary: Authorization\r\n",
                    body: "This site is protected: sign in with its user name and password.", isHead: isHead)
            }
        }
        // Pick the visitor's deployment.
        var forced = head.headers.first(name: "x-canopy-target")
        var cookie: Double?
        if route.isSplit {
            if forced == nil, let q = queryValue(target.query, "canopy-target") { forced = q }
            cookie = splitCookie(head.headers)
        }
        var newVisitor: Double?
        let chosen = route.select(forced: forced, cookie: cookie, newVisitor: &newVisitor)
        var context = ResponseContext(
            date: date, isHead: isHead, route: route, newVisitor: forced == nil ? newVisitor : nil, host: host)
        var response = serve(head, target: target, deployment: chosen.deployment, context: &context)
        response.target = chosen
        return response
    }

    struct ResponseContext {
        var date: [UInt8]
        var isHead: Bool
        var route: CompiledRoute?
        var newVisitor: Double?
        var host: String
    }

    // MARK: Files

    enum Lookup {
        case file(ServedFile)
        case slashRedirect(String)
        case missing
    }

    /// Amplify's trailing-slash behaviour: exact file; `/` and `/dir/` → index.html; `/about` →
    /// about.html when it exists, else 301 to `/about/` when about/index.html exists.
    static func lookup(_ deployment: ServedDeployment, path: String, trailingSlash: Bool) -> Lookup {
        if path.isEmpty { return deployment.files["index.html"].map(Lookup.file) ?? .missing }
        if trailingSlash {
            if let index = deployment.files[path + "/index.html"] { return .file(index) }
            return .missing
        }
        if let file = deployment.files[path] { return .file(file) }
        if let html = deployment.files[path + ".html"] { return .file(html) }
        if deployment.files[path + "/index.html"] != nil { return .slashRedirect("/" + path + "/") }
        return .missing
    }

    func serve(
        _ head: HTTPRequestHead, target: RequestTarget, deployment: ServedDeployment, context: inout ResponseContext
    ) -> EdgeResponse {
        if !deployment.rules.isEmpty {
            let requestPath = "/" + target.path + (target.trailingSlash ? "/" : "")
            let outcome = deployment.rules.evaluate(path: requestPath, query: target.query, host: context.host) {
                if case .missing = Self.lookup(deployment, path: target.path, trailingSlash: target.trailingSlash) {
                    return false
                }
                return true
            }
            switch outcome {
            case .redirect(let status, let location)?:
                var full = location
                if !target.query.isEmpty && !location.contains("?") { full += "?" + target.query }
                return redirect(status, to: full, deployment: deployment, context: context)
            case .rewrite(let path)?:
                return serveRewritten(head, path: path, status: 200, deployment: deployment, context: &context)
            case .notFound(let path)?:
                return serveRewritten(head, path: path, status: 404, deployment: deployment, context: &context)
            case nil:
                break
            }
        }
        switch Self.lookup(deployment, path: target.path, trailingSlash: target.trailingSlash) {
        case .file(let file):
            return serveFile(head, file: file, status: 200, deployment: deployment, context: &context)
        case .slashRedirect(let location):
            return redirect(
                301, to: location + (target.query.isEmpty ? "" : "?" + target.query), deployment: deployment,
                context: context)
        case .missing:
            return notFound(head, deployment: deployment, context: &context)
        }
    }

    private func serveRewritten(
        _ head: HTTPRequestHead, path: String, status: Int, deployment: ServedDeployment, context: inout ResponseContext
    ) -> EdgeResponse {
        let parsed = (try? RequestTarget.parse(path.hasPrefix("/") ? path : "/" + path))
        if let parsed,
            case .file(let file) = Self.lookup(deployment, path: parsed.path, trailingSlash: parsed.trailingSlash)
        {
            return serveFile(head, file: file, status: status, deployment: deployment, context: &context)
        }
        return notFound(head, deployment: deployment, context: &context)
    }

    private func notFound(
        _ head: HTTPRequestHead, deployment: ServedDeployment, context: inout ResponseContext
    ) -> EdgeResponse {
        if let page = deployment.notFoundPage {
            return serveFile(head, file: page, status: 404, deployment: deployment, context: &context)
        }
        var extra = "X-Canopy-Deployment: \(deployment.id)\r\n"
        if context.route?.route.noindex == true { extra += "X-Robots-Tag: noindex\r\n" }
        return simple(404, date: context.date, extra: extra, body: "Not found.", isHead: context.isHead)
    }

    private func redirect(
        _ status: Int, to location: String, deployment: ServedDeployment, context: ResponseContext
    ) -> EdgeResponse {
        var extra = "Location: \(location)\r\nX-Canopy-Deployment: \(deployment.id)\r\n"
        if context.route?.route.noindex == true { extra += "X-Robots-Tag: noindex\r\n" }
        extra += cookieLine(context)
        return simple(
            status, date: context.date, extra: extra, body: "Moved to \(location)", isHead: context.isHead,
            cache: "no-cache")
    }

    /// A file's response: conditionals (304/412), ranges (206/416), content coding, custom headers.
    func serveFile(
        _ head: HTTPRequestHead, file: ServedFile, status: Int, deployment: ServedDeployment,
        context: inout ResponseContext
    )
        -> EdgeResponse
    {
        let headers = head.headers
        let identity = file.variants[.identity]!
        var ranges: ByteRanges.Result = .none
        if status == 200, let rangeHeader = headers.first(name: "range") {
            var honour = true
            if let ifRange = headers.first(name: "if-range") {
                if ifRange.hasPrefix("\"") || ifRange.hasPrefix("W/") {
                    honour = ifRange == identity.etag
                } else {
                    honour = HTTPDate.parse(ifRange) == file.lastModifiedSeconds
                }
            }
            if honour { ranges = ByteRanges.parse(rangeHeader, length: identity.size) }
        }
        let coding: ContentCoding
        if case .none = ranges {
            coding = EncodingNegotiation.choose(headers.first(name: "accept-encoding"), available: file.variants)
        } else {
            coding = .identity  // ranges apply to the identity bytes; a 206 is never compressed
        }
        let variant = file.variants[coding]!

        if status == 200 {
            if let ifMatch = headers.first(name: "if-match"), !ETagMatch.strongMatch(ifMatch, variant.etag) {
                return simple(
                    412, date: context.date, extra: "ETag: \(variant.etag)\r\n", body: "Precondition failed.",
                    isHead: context.isHead)
            }
            if headers.first(name: "if-match") == nil, let ius = headers.first(name: "if-unmodified-since"),
                let date = HTTPDate.parse(ius),
                file.lastModifiedSeconds > date
            {
                return simple(412, date: context.date, body: "Precondition failed.", isHead: context.isHead)
            }
            var notModified = false
            if let inm = headers.first(name: "if-none-match") {
                notModified = ETagMatch.weakMatch(inm, variant.etag)
            } else if let ims = headers.first(name: "if-modified-since"), let date = HTTPDate.parse(ims) {
                notModified = file.lastModifiedSeconds <= date
            }
            if notModified {
                var buffer = allocator.buffer(capacity: 320)
                buffer.writeBytes(Self.statusLines[304]!)
                buffer.writeBytes(context.date)
                buffer.writeString("ETag: \(variant.etag)\r\n")
                buffer.writeString("Cache-Control: \(cacheControl(file, context))\r\n")
                writeCommon(&buffer, file: file, context: context)
                buffer.writeString("\r\n")
                return EdgeResponse(status: 304, head: buffer)
            }
        }

        var buffer = allocator.buffer(capacity: 384 + file.commonHeaders.count)
        switch ranges {
        case .unsatisfiable:
            buffer.writeBytes(Self.statusLines[416]!)
            buffer.writeBytes(context.date)
            buffer.writeString(
                "Content-Range: bytes */\(identity.size)\r\nContent-Length: 0\r\nX-Canopy-Deployment: \(deployment.id)\r\n"
            )
            buffer.writeString("\r\n")
            return EdgeResponse(status: 416, head: buffer)
        case .ranges(let list) where list.count == 1:
            let r = list[0]
            let length = r.upperBound - r.lowerBound + 1
            buffer.writeBytes(Self.statusLines[206]!)
            buffer.writeBytes(context.date)
            buffer.writeString(
                "Content-Range: bytes \(r.lowerBound)-\(r.upperBound)/\(identity.size)\r\nContent-Length: \(length)\r\nETag: \(identity.etag)\r\n"
            )
            buffer.writeString("Cache-Control: \(cacheControl(file, context))\r\n")
            writeCommon(&buffer, file: file, context: context)
            buffer.writeString("\r\n")
            var response = EdgeResponse(status: 206, head: buffer)
            if !context.isHead {
                response.body = [slice(identity.body, offset: r.lowerBound, length: length)]
                response.bodyBytes = Int(length)
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
                parts.append(slice(identity.body, offset: r.lowerBound, length: length))
                total += partHead.utf8.count + Int(length)
            }
            let closing = "\r\n--\(boundary)--\r\n"
            parts.append(.buffer(ByteBuffer(string: closing)))
            total += closing.utf8.count
            buffer.writeBytes(Self.statusLines[206]!)
            buffer.writeBytes(context.date)
            buffer.writeString(
                "Content-Type: multipart/byteranges; boundary=\(boundary)\r\nContent-Length: \(total)\r\nETag: \(identity.etag)\r\n"
            )
            buffer.writeString(
                "Cache-Control: \(cacheControl(file, context))\r\nX-Canopy-Deployment: \(deployment.id)\r\nAccept-Ranges: bytes\r\n"
            )
            buffer.writeString(cookieLine(context))
            buffer.writeString("\r\n")
            var response = EdgeResponse(status: 206, head: buffer)
            if !context.isHead {
                response.body = parts
                response.bodyBytes = total
            }
            return response
        case .none:
            break
        }
        buffer.writeBytes(Self.statusLines[status]!)
        buffer.writeBytes(context.date)
        buffer.writeBytes(variant.fullHeaders)
        writeCacheControl(&buffer, file: file, context: context, status: status)
        writeCommon(&buffer, file: file, context: context)
        var response = EdgeResponse(status: status, head: buffer)
        if !context.isHead {
            switch variant.body {
            case .memory(let bytes) where bytes.readableBytes <= 8192:
                response.head.writeString("\r\n")
                var copy = bytes
                response.head.writeBuffer(&copy)
                response.bodyBytes = bytes.readableBytes
                return response
            case .memory(let bytes):
                response.body = [.buffer(bytes)]
            case .file(let handle, let size):
                response.body = [.file(handle, offset: 0, length: size)]
            }
            response.bodyBytes = Int(variant.size)
        }
        response.head.writeString("\r\n")
        return response
    }

    private func slice(_ body: ServedBody, offset: Int64, length: Int64) -> EdgeResponse.Part {
        switch body {
        case .memory(let bytes):
            return .buffer(bytes.getSlice(at: bytes.readerIndex + Int(offset), length: Int(length))!)
        case .file(let handle, _): return .file(handle, offset: offset, length: length)
        }
    }

    private func writeCommon(_ buffer: inout ByteBuffer, file: ServedFile, context: ResponseContext) {
        buffer.writeBytes(file.commonHeaders)
        if let route = context.route {
            if route.route.noindex { buffer.writeString("X-Robots-Tag: noindex\r\n") }
            if route.expectedAuthorization != nil { buffer.writeString("Vary: Authorization\r\n") }
        }
        buffer.writeString(cookieLine(context))
    }

    private func cookieLine(_ context: ResponseContext) -> String {
        guard let r = context.newVisitor else { return "" }
        return
            "Set-Cookie: canopy-split=\(String(format: "%.6f", r)); Path=/; Max-Age=2592000; SameSite=Lax; HttpOnly\r\n"
    }

    /// The `Cache-Control` line of a full response: the file's own, precomputed, unless the route
    /// rewrites it (see `cacheControl`); `no-cache` for a page served with another status.
    @inline(__always)
    private func writeCacheControl(_ buffer: inout ByteBuffer, file: ServedFile, context: ResponseContext, status: Int)
    {
        if status != 200 {
            buffer.writeBytes(Self.noCacheLine)
        } else if let route = context.route, route.expectedAuthorization != nil || route.isSplit {
            buffer.writeString("Cache-Control: \(cacheControl(file, context))\r\n")
        } else {
            buffer.writeBytes(file.cacheControlLine)
        }
    }

    static let noCacheLine: [UInt8] = Array("Cache-Control: no-cache\r\n".utf8)

    /// Protected responses are never stored by shared caches; a split's responses are per visitor.
    private func cacheControl(_ file: ServedFile, _ context: ResponseContext) -> String {
        guard let route = context.route else { return file.cacheControl }
        if route.expectedAuthorization != nil { return "private, no-store" }
        if route.isSplit {
            if file.cacheControl.hasPrefix("public") { return "private" + file.cacheControl.dropFirst(6) }
            return file.cacheControl.contains("private") ? file.cacheControl : "private, " + file.cacheControl
        }
        return file.cacheControl
    }

    // MARK: Small answers

    func simple(
        _ status: Int, date: [UInt8], extra: String = "", body: String?, isHead: Bool, title: String? = nil,
        cache: String = "no-store"
    ) -> EdgeResponse {
        var buffer = allocator.buffer(capacity: 512)
        buffer.writeBytes(Self.statusLines[status] ?? Array("HTTP/1.1 \(status) Status\r\n".utf8))
        buffer.writeBytes(date)
        buffer.writeString("Server: canopy\r\nCache-Control: \(cache)\r\n")
        buffer.writeString(extra)
        guard let body else {
            buffer.writeString("\r\n")
            return EdgeResponse(status: status, head: buffer)
        }
        let reason = HTTPResponseStatus(statusCode: status).reasonPhrase
        let html =
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>\(title ?? "\(status) \(reason)")</title></head><body><h1>\(status) \(reason)</h1><p>\(body)</p><p><small>canopy</small></p></body></html>\n"
        buffer.writeString("Content-Type: text/html; charset=utf-8\r\nContent-Length: \(html.utf8.count)\r\n\r\n")
        if !isHead { buffer.writeString(html) }
        return EdgeResponse(status: status, head: buffer, bodyBytes: isHead ? 0 : html.utf8.count)
    }

    // MARK: Helpers

    private func splitCookie(_ headers: HTTPHeaders) -> Double? {
        for header in headers[canonicalForm: "cookie"] {
            guard let range = header.range(of: "canopy-split=") else { continue }
            let value = header[range.upperBound...].prefix { $0 != ";" && $0 != " " }
            return Double(value)
        }
        return nil
    }

    private func queryValue(_ query: String, _ name: String) -> String? {
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            if kv.count == 2 && kv[0] == name { return String(kv[1]).removingPercentEncoding }
        }
        return nil
    }
}

/// Compares in time that depends only on the lengths.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var difference = UInt8(a.count == b.count ? 0 : 1)
    for i in 0..<max(a.count, b.count) {
        difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
    }
    return difference == 0
}
