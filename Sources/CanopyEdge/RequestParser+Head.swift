/// The request head in three steps: the request line, the header fields, and the framing they
/// give (body length, keep-alive). Each step refuses with a status; typed throws keep the refusal
/// a plain return value (no allocation), so the split costs the hot path nothing measurable (see
/// the benchmark in the commit that made it).
extension RequestParser {
    /// Why a head is refused: answered with `status`, then the connection closes.
    struct Refusal: Error {
        let status: Int
        let reason: String
        let method: EdgeRequest.Method
    }

    /// What the header fields say about framing, gathered while they are read.
    struct Framing {
        var close = false
        var keepAliveToken = false
        var contentLength: Int?
        var transfer = TransferCodings()
        var expectsContinue = false
    }

    static func parseHead(_ bytes: UnsafeRawBufferPointer, from start: Int, end: Int) -> Outcome {
        do throws(Refusal) {
            var i = start
            var request = try requestLine(bytes, from: start, end: end, next: &i)
            let framing = try headerFields(bytes, from: i, end: end, into: &request)
            return try framed(request, framing, length: end)
        } catch {
            return .failure(status: error.status, reason: error.reason, method: error.method)
        }
    }

    /// `method SP request-target SP HTTP-version CRLF`; `next` is where the header fields start.
    @inline(__always)
    static func requestLine(
        _ bytes: UnsafeRawBufferPointer, from start: Int, end: Int, next: inout Int
    ) throws(Refusal) -> EdgeRequest {
        var i = start
        while i < end, isToken(bytes[i]) { i += 1 }
        let methodEnd = i
        guard methodEnd > start, methodEnd < end, bytes[methodEnd] == sp else {
            throw Refusal(status: 400, reason: "Malformed request line.", method: .other)
        }
        let method = methodKind(bytes, start, methodEnd)
        i += 1
        let targetStart = i
        while i < end, bytes[i] > sp, bytes[i] != del { i += 1 }
        let targetEnd = i
        guard targetEnd > targetStart, targetEnd < end, bytes[targetEnd] == sp else {
            throw Refusal(status: 400, reason: "Malformed request line.", method: method)
        }
        if targetEnd - start > maxRequestLine {
            throw Refusal(status: 414, reason: "The request line is too long.", method: method)
        }
        i += 1
        // HTTP-version = "HTTP/" DIGIT "." DIGIT, then CRLF
        guard i + 9 < end, bytes[i] == 0x48, bytes[i + 1] == 0x54, bytes[i + 2] == 0x54, bytes[i + 3] == 0x50,
            bytes[i + 4] == slash, isDigit(bytes[i + 5]), bytes[i + 6] == dot, isDigit(bytes[i + 7]),
            bytes[i + 8] == cr, bytes[i + 9] == lf
        else {
            throw Refusal(status: 400, reason: "Malformed request line.", method: method)
        }
        let major = bytes[i + 5] - zero
        let minor = bytes[i + 7] - zero
        guard major == 1, minor <= 1 else {
            throw Refusal(status: 505, reason: "This server speaks HTTP/1.1 and HTTP/1.0.", method: method)
        }
        guard let uri = string(bytes, targetStart, targetEnd) else {
            throw Refusal(status: 400, reason: "The request target is not valid UTF-8.", method: method)
        }
        next = i + 10
        return EdgeRequest(
            method: method, methodName: string(bytes, start, methodEnd) ?? "-", uri: uri, minorVersion: Int(minor))
    }

    /// Header fields, `name ":" OWS value OWS CRLF`, until the empty line: the ones the edge reads
    /// go into `request`, those that frame the message into the result.
    @inline(__always)
    static func headerFields(
        _ bytes: UnsafeRawBufferPointer, from start: Int, end: Int, into request: inout EdgeRequest
    ) throws(Refusal) -> Framing {
        let method = request.method
        var framing = Framing()
        var i = start
        var headerCount = 0
        while i < end - 2 {
            headerCount += 1
            if headerCount > maxHeaders {
                throw Refusal(status: 431, reason: "Too many request headers.", method: method)
            }
            let nameStart = i
            while isToken(bytes[i]) { i += 1 }
            let nameEnd = i
            guard nameEnd > nameStart, bytes[nameEnd] == colon else {
                // Covers obs-fold (a line starting with SP or HTAB), a space before the colon, and
                // a line without a colon.
                throw Refusal(status: 400, reason: "Malformed header line.", method: method)
            }
            i += 1
            while bytes[i] == sp || bytes[i] == htab { i += 1 }
            let valueStart = i
            while bytes[i] != cr {
                let b = bytes[i]
                guard b == htab || (b >= sp && b != del) else {
                    throw Refusal(status: 400, reason: "A header value holds a control character.", method: method)
                }
                i += 1
            }
            guard bytes[i + 1] == lf else {
                throw Refusal(status: 400, reason: "A header value holds a control character.", method: method)
            }
            var valueEnd = i
            while valueEnd > valueStart, bytes[valueEnd - 1] == sp || bytes[valueEnd - 1] == htab { valueEnd -= 1 }
            i += 2
            guard let field = Field(bytes, nameStart, nameEnd) else { continue }
            try read(field, bytes, valueStart, valueEnd, into: &request, &framing)
        }
        return framing
    }

    /// One field the edge reads.
    @inline(__always)
    static func read(
        _ field: Field, _ bytes: UnsafeRawBufferPointer, _ valueStart: Int, _ valueEnd: Int,
        into request: inout EdgeRequest, _ framing: inout Framing
    ) throws(Refusal) {
        switch field {
        case .host:
            if request.host != nil {
                throw Refusal(status: 400, reason: "More than one Host header.", method: request.method)
            }
            request.host = string(bytes, valueStart, valueEnd) ?? ""
        case .connection:
            scanTokens(bytes, valueStart, valueEnd) { token in
                if token == .close { framing.close = true }
                if token == .keepAlive { framing.keepAliveToken = true }
            }
        case .contentLength:
            guard let n = decimal(bytes, valueStart, valueEnd),
                framing.contentLength == nil || framing.contentLength == n
            else { throw Refusal(status: 400, reason: "Invalid Content-Length.", method: request.method) }
            framing.contentLength = n
        case .transferEncoding: framing.transfer.add(bytes, valueStart, valueEnd)
        case .expect: framing.expectsContinue = true
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

    /// The body's framing and the connection's fate, from the fields read.
    @inline(__always)
    static func framed(_ request: EdgeRequest, _ framing: Framing, length end: Int) throws(Refusal) -> Outcome {
        var request = request
        let http10 = request.minorVersion == 0
        if framing.transfer.present {
            if let (status, reason) = framing.transfer.refusal(
                http10: http10, contentLength: framing.contentLength != nil)
            {
                throw Refusal(status: status, reason: reason, method: request.method)
            }
            request.chunked = true
        }
        if !http10, request.host == nil {
            throw Refusal(status: 400, reason: "A Host header is required.", method: request.method)
        }
        let bodyLength = framing.contentLength ?? 0
        // A body is skipped so that the next request can be read, unless the client waits for
        // `100 Continue` (it may never send the body) or the body is large: then the connection
        // closes after the answer instead. (A chunked body is skipped up to `maxSkippedBody` too:
        // see EdgeHandler.)
        let expects = framing.expectsContinue
        let skippable =
            request.chunked ? !expects : bodyLength == 0 || (!expects && bodyLength <= maxSkippedBody)
        request.bodyLength = bodyLength
        request.expectsContinue = expects
        request.persistent = !framing.close && (!http10 || framing.keepAliveToken)
        request.keepAlive = request.persistent && skippable
        return .request(request, length: end, bodyLength: skippable ? bodyLength : 0)
    }
}
