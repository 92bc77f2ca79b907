import NIOCore
import NIOHPACK

extension EdgeHTTP2Handler {
    /// Reads an HTTP/1.1 response head written by the Responder back into an HTTP/2 header block
    /// (`:status` first, names lowercased, connection-specific fields dropped: RFC 9113 §8.2.2);
    /// returns the bytes after the head (an inline body) as well. Bytes, not Strings: this runs
    /// once per HTTP/2 response (a generic search and String splitting here once cost more than the
    /// rest of the response).
    static func split(_ out: ByteBuffer) -> (HPACKHeaders, ByteBuffer)? {
        let parsed = out.withUnsafeReadableBytes { raw -> (headers: HPACKHeaders, headEnd: Int)? in
            guard let end = RequestParser.headTerminator(raw, from: 0) else { return nil }
            // Status line: `HTTP/1.1 200 OK`.
            var position = 0
            while position < end && raw[position] != 0x20 { position += 1 }
            guard position + 3 <= end else { return nil }
            for offset in 1...3 where !(0x30...0x39).contains(raw[position + offset]) { return nil }
            var headers = HPACKHeaders()
            headers.reserveCapacity(12)
            headers.add(
                name: ":status",
                value: String(
                    decoding: UnsafeRawBufferPointer(rebasing: raw[(position + 1)..<(position + 4)]), as: UTF8.self))
            while position < end && raw[position] != 0x0D { position += 1 }
            // Each field line: `Name: value\r\n`.
            while position + 2 <= end {
                let lineStart = position + 2
                var lineEnd = lineStart
                while lineEnd < end && raw[lineEnd] != 0x0D { lineEnd += 1 }
                position = lineEnd
                var colon = lineStart
                while colon < lineEnd && raw[colon] != 0x3A { colon += 1 }
                guard colon < lineEnd else { continue }
                let name = String(unsafeUninitializedCapacity: colon - lineStart) { buffer in
                    for index in lineStart..<colon {
                        let byte = raw[index]
                        buffer[index - lineStart] = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
                    }
                    return colon - lineStart
                }
                if name == "connection" || name == "keep-alive" || name == "transfer-encoding" { continue }
                var valueStart = colon + 1
                while valueStart < lineEnd && raw[valueStart] == 0x20 { valueStart += 1 }
                let value = String(decoding: UnsafeRawBufferPointer(rebasing: raw[valueStart..<lineEnd]), as: UTF8.self)
                headers.add(name: name, value: value)
            }
            return (headers, end + 4)
        }
        guard let parsed else { return nil }
        let body = out.getSlice(at: out.readerIndex + parsed.headEnd, length: out.readableBytes - parsed.headEnd)!
        return (parsed.headers, body)
    }
}
