import NIOCore

/// Range answers (RFC 9110 §14): 416 for a range outside the file, 206 with one range, 206
/// `multipart/byteranges` with several. Ranges always cut the identity bytes.
extension Responder {
    static func unsatisfiable(
        _ file: ServedFile, _ deployment: ServedDeployment, _ context: ResponseContext, _ out: inout ByteBuffer
    ) -> EdgeResponse {
        out.writeBytes(statusLines[416]!)
        out.writeBytes(context.date)
        out.writeString(
            "Content-Range: bytes */\(file.identity.size)\r\nContent-Length: 0\r\nX-Canopy-Deployment: \(deployment.id)\r\n"
        )
        endHead(&out, context)
        return EdgeResponse(status: 416)
    }

    static func singleRange(
        _ r: ClosedRange<Int64>, _ file: ServedFile, _ source: BlobEntry.Source?, _ context: ResponseContext,
        _ out: inout ByteBuffer
    ) -> EdgeResponse {
        let identity = file.identity
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
    }

    static func multipartRanges(
        _ list: [ClosedRange<Int64>], _ file: ServedFile, _ source: BlobEntry.Source?, _ deployment: ServedDeployment,
        _ context: ResponseContext, _ out: inout ByteBuffer
    ) -> EdgeResponse {
        let identity = file.identity
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
    }

    static func slice(_ source: BlobEntry.Source, offset: Int64, length: Int64) -> EdgeResponse.Part {
        switch source {
        case .memory(let bytes):
            return .buffer(bytes.getSlice(at: bytes.readerIndex + Int(offset), length: Int(length))!)
        case .file(let blob, _): return .file(blob, offset: offset, length: length)
        case .unavailable: return .buffer(ByteBuffer())  // not reached: answered with a 500 before
        }
    }

}
