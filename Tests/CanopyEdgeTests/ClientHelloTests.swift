import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOSSL
import Testing

@testable import CanopyEdge

/// The ClientHello reader, on real hellos written by BoringSSL's client.
struct ClientHelloTests {
    /// The first flight of a TLS client offering `protocols` for `serverName`.
    func hello(serverName: String?, protocols: [String]) throws -> ByteBuffer {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.applicationProtocols = protocols
        let context = try NIOSSLContext(configuration: configuration)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            try NIOSSLClientHandler(context: context, serverHostname: serverName))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 443)).wait()
        var out = ByteBuffer()
        while var part = try channel.readOutbound(as: ByteBuffer.self) { out.writeBuffer(&part) }
        _ = try? channel.finish()
        return out
    }

    @Test func readsTheServerNameAndProtocols() throws {
        let bytes = try hello(serverName: "Shop.Example.com", protocols: ["h2", "http/1.1"])
        #expect(
            ClientHello.parse(bytes)
                == .hello(ClientHello(serverName: "Shop.Example.com", protocols: ["h2", "http/1.1"])))
        let acme = try hello(serverName: "example.com", protocols: ["acme-tls/1"])
        #expect(ClientHello.parse(acme) == .hello(ClientHello(serverName: "example.com", protocols: ["acme-tls/1"])))
        let bare = try hello(serverName: nil, protocols: [])
        #expect(ClientHello.parse(bare) == .hello(ClientHello(serverName: nil, protocols: [])))
    }

    @Test func waitsForTheWholeHelloAndRefusesWhatIsNotTLS() throws {
        let bytes = try hello(serverName: "example.com", protocols: ["h2"])
        for cut in [1, 5, 40, bytes.readableBytes - 1] {
            #expect(ClientHello.parse(bytes.getSlice(at: 0, length: cut)!) == .incomplete)
        }
        #expect(ClientHello.parse(ByteBuffer(string: "GET / HTTP/1.1\r\n\r\n")) == .notTLS)
        #expect(ClientHello.parse(ByteBuffer(bytes: [0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0, 0, 0])) == .notTLS)
        // A hello split over two records is put back together.
        var record = bytes
        let header = record.readBytes(length: 5)!
        let body = record.readBytes(length: record.readableBytes)!
        let half = body.count / 2
        var split = ByteBuffer(bytes: [header[0], header[1], header[2], UInt8(half >> 8), UInt8(half & 0xFF)])
        split.writeBytes(body[..<half])
        split.writeBytes([
            header[0], header[1], header[2], UInt8((body.count - half) >> 8), UInt8((body.count - half) & 0xFF),
        ])
        split.writeBytes(body[half...])
        #expect(ClientHello.parse(split) == .hello(ClientHello(serverName: "example.com", protocols: ["h2"])))
    }
}

/// The Responder's HTTP/1.1 head as an HPACK header block (`H2ResponseHead`), read back by
/// NIOHPACK's decoder (an independent implementation of RFC 7541).
struct H2ResponseHeadTests {
    func decode(_ head: String, skip: Int = 0) throws -> (HPACKHeaders, String)? {
        var buffer = ByteBuffer(string: head)
        buffer.moveReaderIndex(forwardBy: skip)
        var block = ByteBuffer()
        guard let length = H2ResponseHead.encode(buffer, into: &block) else { return nil }
        var decoder = HPACKDecoder(allocator: ByteBufferAllocator())
        let headers = try decoder.decodeHeaders(from: &block)
        return (
            headers,
            String(buffer: buffer.getSlice(at: buffer.readerIndex + length, length: buffer.readableBytes - length)!)
        )
    }

    @Test func fieldsAreLowercasedConnectionFieldsDroppedAndTheInlineBodyKept() throws {
        let head =
            "HTTP/1.1 308 Permanent Redirect\r\nDate: Tue, 01 Dec 2026 12:00:00 GMT\r\nLocation:   https://x.test/a?b\r\n"
            + "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\nX-Empty:\r\n"
            + "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Canopy-Deployment: d1\r\n"
            + "Content-Security-Policy: \(String(repeating: "a", count: 300))\r\n\r\nbody bytes"
        let (headers, body) = try #require(try decode("ignored" + head, skip: 7))
        #expect(headers.first?.name == ":status" && headers.first?.value == "308")
        #expect(headers["location"] == ["https://x.test/a?b"])
        #expect(headers["date"] == ["Tue, 01 Dec 2026 12:00:00 GMT"])
        #expect(headers["set-cookie"] == ["a=1", "b=2"])
        #expect(headers["x-empty"] == [""])
        #expect(headers["x-canopy-deployment"] == ["d1"])
        #expect(headers["content-security-policy"] == [String(repeating: "a", count: 300)])
        for name in ["connection", "keep-alive", "transfer-encoding"] { #expect(headers[name].isEmpty) }
        #expect(headers.allSatisfy { $0.name == $0.name.lowercased() })
        #expect(body == "body bytes")
        #expect(try decode("HTTP/1.1 200 OK\r\nX: y\r\n") == nil)
    }

    @Test func everyStatusReadsBack() throws {
        for status in [200, 204, 206, 301, 304, 400, 404, 410, 451, 500, 503] {
            let (headers, _) = try #require(try decode("HTTP/1.1 \(status) X\r\nContent-Length: 0\r\n\r\n"))
            #expect(headers.first?.name == ":status" && headers.first?.value == "\(status)")
            #expect(headers["content-length"] == ["0"])
        }
    }
}
