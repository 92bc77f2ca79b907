import NIOCore

/// Turns the HTTP/1.1 response head the Responder wrote into an HPACK header block (RFC 7541),
/// byte to byte: `:status` first (indexed from the static table where it is there), each field
/// name lowercased and, where the static table has it, sent by its index; values as literals
/// without indexing. No Huffman coding and no dynamic table, so the peer's table size never
/// matters and no state is kept between responses. Connection-specific fields, which HTTP/2
/// forbids (RFC 9113 §8.2.2), are dropped.
enum H2ResponseHead {
    /// Appends the header block for the head at the start of `head` to `block`; returns the length
    /// of the head (with its blank line), after which an inline body may follow. nil when `head`
    /// holds no complete, well-formed head.
    static func encode(_ head: ByteBuffer, into block: inout ByteBuffer) -> Int? {
        head.withUnsafeReadableBytes { raw -> Int? in
            guard let end = RequestParser.headTerminator(raw, from: 0) else { return nil }
            // Status line: `HTTP/1.1 200 OK`.
            var position = 0
            while position < end && raw[position] != 0x20 { position += 1 }
            guard position + 3 <= end else { return nil }
            var status = 0
            for offset in 1...3 {
                let digit = raw[position + offset]
                guard digit >= 0x30 && digit <= 0x39 else { return nil }
                status = status * 10 + Int(digit - 0x30)
            }
            writeStatus(status, &block)
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
                var valueStart = colon + 1
                while valueStart < lineEnd && raw[valueStart] == 0x20 { valueStart += 1 }
                let name = UnsafeRawBufferPointer(rebasing: raw[lineStart..<colon])
                let value = UnsafeRawBufferPointer(rebasing: raw[valueStart..<lineEnd])
                writeField(name: name, value: value, &block)
            }
            return end + 4
        }
    }

    /// `:status`: indexed (RFC 7541 Appendix A, 8–14) or a literal with the indexed name 8.
    static func writeStatus(_ status: Int, _ block: inout ByteBuffer) {
        switch status {
        case 200: block.writeInteger(UInt8(0x88))
        case 204: block.writeInteger(UInt8(0x89))
        case 206: block.writeInteger(UInt8(0x8A))
        case 304: block.writeInteger(UInt8(0x8B))
        case 400: block.writeInteger(UInt8(0x8C))
        case 404: block.writeInteger(UInt8(0x8D))
        case 500: block.writeInteger(UInt8(0x8E))
        default:
            block.writeInteger(UInt8(0x08))  // literal without indexing, name :status (8)
            block.writeInteger(UInt8(3))
            block.writeInteger(UInt8(0x30 + status / 100 % 10))
            block.writeInteger(UInt8(0x30 + status / 10 % 10))
            block.writeInteger(UInt8(0x30 + status % 10))
        }
    }

    /// One field as a literal without indexing; the name by its static-table index when it has one.
    static func writeField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, _ block: inout ByteBuffer) {
        let hash = lowercaseHash(name)
        if let forbidden = forbiddenHashes[hash], equalsLowercased(name, forbidden) { return }
        if let entry = staticNames[hash], equalsLowercased(name, entry.name) {
            writeInteger(entry.index, prefixBits: 4, firstByte: 0x00, &block)
        } else {
            block.writeInteger(UInt8(0x00))
            writeInteger(name.count, prefixBits: 7, firstByte: 0x00, &block)
            block.writeWithUnsafeMutableBytes(minimumWritableBytes: name.count) { target in
                for index in 0..<name.count {
                    let byte = name[index]
                    target[index] = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
                }
                return name.count
            }
        }
        writeInteger(value.count, prefixBits: 7, firstByte: 0x00, &block)
        block.writeBytes(value)
    }

    /// An HPACK integer with an N-bit prefix (RFC 7541 §5.1).
    @inline(__always)
    static func writeInteger(_ value: Int, prefixBits: Int, firstByte: UInt8, _ block: inout ByteBuffer) {
        let limit = (1 << prefixBits) - 1
        if value < limit {
            block.writeInteger(firstByte | UInt8(value))
            return
        }
        block.writeInteger(firstByte | UInt8(limit))
        var rest = value - limit
        while rest >= 128 {
            block.writeInteger(UInt8(rest & 0x7F | 0x80))
            rest >>= 7
        }
        block.writeInteger(UInt8(rest))
    }

    // MARK: Names

    /// FNV-1a over the lowercased bytes: the key of the name tables below.
    @inline(__always)
    static func lowercaseHash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte)) &* 0x100_0000_01b3
        }
        return hash
    }

    @inline(__always)
    static func equalsLowercased(_ bytes: UnsafeRawBufferPointer, _ lowercase: [UInt8]) -> Bool {
        guard bytes.count == lowercase.count else { return false }
        for index in 0..<bytes.count {
            let byte = bytes[index]
            if (byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte) != lowercase[index] { return false }
        }
        return true
    }

    static func hashed(_ name: String) -> UInt64 {
        Array(name.utf8).withUnsafeBytes { lowercaseHash($0) }
    }

    /// RFC 7541 Appendix A: the static table's regular field names (the first index of each).
    static let staticNames: [UInt64: (index: Int, name: [UInt8])] = {
        let names = [
            (15, "accept-charset"), (16, "accept-encoding"), (17, "accept-language"), (18, "accept-ranges"),
            (19, "accept"), (20, "access-control-allow-origin"), (21, "age"), (22, "allow"), (23, "authorization"),
            (24, "cache-control"), (25, "content-disposition"), (26, "content-encoding"), (27, "content-language"),
            (28, "content-length"), (29, "content-location"), (30, "content-range"), (31, "content-type"),
            (32, "cookie"), (33, "date"), (34, "etag"), (35, "expect"), (36, "expires"), (37, "from"), (38, "host"),
            (39, "if-match"), (40, "if-modified-since"), (41, "if-none-match"), (42, "if-range"),
            (43, "if-unmodified-since"), (44, "last-modified"), (45, "link"), (46, "location"), (47, "max-forwards"),
            (48, "proxy-authenticate"), (49, "proxy-authorization"), (50, "range"), (51, "referer"), (52, "refresh"),
            (53, "retry-after"), (54, "server"), (55, "set-cookie"), (56, "strict-transport-security"),
            (58, "user-agent"), (59, "vary"), (60, "via"), (61, "www-authenticate"),
        ]
        var table: [UInt64: (index: Int, name: [UInt8])] = [:]
        for (index, name) in names { table[hashed(name)] = (index, Array(name.utf8)) }
        precondition(table.count == names.count, "two static names share a hash")
        return table
    }()

    /// Fields HTTP/1.1 uses for the connection, which an HTTP/2 response must not carry.
    static let forbiddenHashes: [UInt64: [UInt8]] = {
        let names = ["connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"]
        return Dictionary(uniqueKeysWithValues: names.map { (hashed($0), Array($0.utf8)) })
    }()
}
