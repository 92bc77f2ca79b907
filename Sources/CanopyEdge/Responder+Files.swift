import Foundation
import NIOCore

/// A deployment's files: the path lookup, and a file's response (conditionals, the body's
/// source, then a whole or ranged answer) in named steps. `serveFile` and `whole` are the edge's
/// measured hot path: the steps are `@inline(__always)`, so the split adds no calls to a 200.
extension Responder {
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
        let ranges: ByteRanges.Result = status == 200 ? requestedRanges(request, file) : .none
        let variant: ServedVariant
        if case .none = ranges {
            variant = file.variant(for: request.acceptEncoding)
        } else {
            variant = file.identity  // ranges apply to the identity bytes; a 206 is never compressed
        }
        if status == 200, let answer = preconditionAnswer(request, file, variant, context, &out) { return answer }
        // Where the bytes come from, before any head is written: a blob that cannot be opened is a 500.
        var source: BlobEntry.Source?
        if !context.isHead {
            switch ranges {
            case .ranges: source = file.identity.body.source()
            case .none: source = variant.body.source()
            case .unsatisfiable: break
            }
            if case .unavailable = source { return write(unreadable, &out, context) }
        }
        switch ranges {
        case .none: return whole(file, variant, status: status, source, context, &out)
        case .unsatisfiable: return unsatisfiable(file, deployment, context, &out)
        case .ranges(let list) where list.count == 1: return singleRange(list[0], file, source, context, &out)
        case .ranges(let list): return multipartRanges(list, file, source, deployment, context, &out)
        }
    }

    /// The ranges a 200 would be cut to: none without `Range`, or when `If-Range` no longer holds.
    @inline(__always)
    static func requestedRanges(_ request: EdgeRequest, _ file: ServedFile) -> ByteRanges.Result {
        guard let rangeHeader = request.range else { return .none }
        if let ifRange = request.ifRange {
            let holds =
                ifRange.hasPrefix("\"") || ifRange.hasPrefix("W/")
                ? ifRange == file.identity.etag : HTTPDate.parse(ifRange) == file.lastModifiedSeconds
            if !holds { return .none }
        }
        return ByteRanges.parse(rangeHeader, length: file.identity.size)
    }

    /// 412 when a precondition fails, 304 when the client's copy is current; nil to answer in full.
    @inline(__always)
    static func preconditionAnswer(
        _ request: EdgeRequest, _ file: ServedFile, _ variant: ServedVariant, _ context: ResponseContext,
        _ out: inout ByteBuffer
    ) -> EdgeResponse? {
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
        guard notModified else { return nil }
        out.writeBytes(statusLines[304]!)
        out.writeBytes(context.date)
        out.writeString("ETag: \(variant.etag)\r\n")
        out.writeString("Cache-Control: \(cacheControl(file, context))\r\n")
        writeCommon(&out, file: file, context: context)
        endHead(&out, context)
        return EdgeResponse(status: 304)
    }

    /// The whole variant: its prebuilt head lines, then the body inline (small), as a shared
    /// buffer, or as a file region.
    @inline(__always)
    static func whole(
        _ file: ServedFile, _ variant: ServedVariant, status: Int, _ source: BlobEntry.Source?,
        _ context: ResponseContext, _ out: inout ByteBuffer
    ) -> EdgeResponse {
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

    /// The answer when a deployment's blob file cannot be opened (the store lost or locked it).
    static let unreadable = CannedAnswer(
        status: 500, body: "This file cannot be read from the deployment store.",
        title: "Canopy: file unreadable")

    static func writeCommon(_ buffer: inout ByteBuffer, file: ServedFile, context: ResponseContext) {
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
    static func writeCacheControl(
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
    static func cacheControl(_ file: ServedFile, _ context: ResponseContext) -> String {
        let own = context.custom.map { $0.cacheControl ?? file.defaultCacheControl } ?? file.cacheControl
        guard let route = context.route else { return own }
        if route.expectedAuthorization != nil { return "private, no-store" }
        if route.isSplit {
            if own.hasPrefix("public") { return "private" + own.dropFirst(6) }
            return own.contains("private") ? own : "private, " + own
        }
        return own
    }
}
