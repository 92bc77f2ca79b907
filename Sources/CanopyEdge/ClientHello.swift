import NIOCore

/// What the edge reads from a TLS ClientHello before it chooses a certificate: the server name
/// (SNI, RFC 6066) and the offered ALPN protocols (RFC 7301). Only the bytes are read; the
/// handshake itself is BoringSSL's.
struct ClientHello: Equatable {
    var serverName: String?
    var protocols: [String]

    enum Outcome: Equatable {
        /// More bytes are needed.
        case incomplete
        case hello(ClientHello)
        /// Not a TLS ClientHello (or a malformed one): close.
        case notTLS
    }

    /// A ClientHello may take this many bytes (records included) before the connection is dropped.
    static let maxLength = 32 << 10

    /// Parses the handshake records at the start of `bytes` (a ClientHello may span several).
    static func parse(_ bytes: ByteBuffer) -> Outcome {
        let view = bytes.readableBytesView
        var handshake: [UInt8] = []
        var offset = view.startIndex
        while true {
            guard view.endIndex - offset >= 5 else { return view.count > maxLength ? .notTLS : .incomplete }
            guard view[offset] == 0x16, view[offset + 1] == 0x03 else { return .notTLS }
            let length = Int(view[offset + 3]) << 8 | Int(view[offset + 4])
            guard length > 0 else { return .notTLS }
            guard view.endIndex - offset - 5 >= length else { return view.count > maxLength ? .notTLS : .incomplete }
            handshake.append(contentsOf: view[(offset + 5)..<(offset + 5 + length)])
            offset += 5 + length
            if handshake.count >= 4 {
                guard handshake[0] == 0x01 else { return .notTLS }
                let messageLength = Int(handshake[1]) << 16 | Int(handshake[2]) << 8 | Int(handshake[3])
                if handshake.count >= 4 + messageLength {
                    guard let hello = body(handshake[4..<(4 + messageLength)]) else { return .notTLS }
                    return .hello(hello)
                }
            }
            if handshake.count > maxLength { return .notTLS }
        }
    }

    /// The ClientHello body: version, random, session id, cipher suites, compression, extensions.
    private static func body(_ bytes: ArraySlice<UInt8>) -> ClientHello? {
        var reader = Reader(bytes: bytes)
        guard reader.skip(2 + 32), let sessionID = reader.count(1), reader.skip(sessionID),
            let suites = reader.count(2), reader.skip(suites), let compression = reader.count(1),
            reader.skip(compression)
        else { return nil }
        var hello = ClientHello(serverName: nil, protocols: [])
        guard reader.remaining > 0 else { return hello }
        guard let total = reader.count(2), total <= reader.remaining else { return nil }
        var extensions = Reader(bytes: reader.take(total))
        while extensions.remaining > 0 {
            guard let type = extensions.count(2), let length = extensions.count(2), length <= extensions.remaining
            else { return nil }
            var data = Reader(bytes: extensions.take(length))
            switch type {
            case 0:  // server_name: a list of (type, name); type 0 is a host name
                guard let listLength = data.count(2), listLength <= data.remaining else { return nil }
                while data.remaining > 0 {
                    guard let nameType = data.count(1), let nameLength = data.count(2), nameLength <= data.remaining
                    else { return nil }
                    let name = data.take(nameLength)
                    if nameType == 0 && hello.serverName == nil {
                        hello.serverName = String(decoding: name, as: UTF8.self)
                    }
                }
            case 16:  // application_layer_protocol_negotiation
                guard let listLength = data.count(2), listLength <= data.remaining else { return nil }
                while data.remaining > 0 {
                    guard let length = data.count(1), length > 0, length <= data.remaining else { return nil }
                    hello.protocols.append(String(decoding: data.take(length), as: UTF8.self))
                }
            default:
                break
            }
        }
        return hello
    }

    private struct Reader {
        var bytes: ArraySlice<UInt8>

        var remaining: Int { bytes.count }

        mutating func skip(_ n: Int) -> Bool {
            guard n <= bytes.count else { return false }
            bytes = bytes.dropFirst(n)
            return true
        }

        /// A big-endian length of `width` bytes.
        mutating func count(_ width: Int) -> Int? {
            guard width <= bytes.count else { return nil }
            var value = 0
            for byte in bytes.prefix(width) { value = value << 8 | Int(byte) }
            bytes = bytes.dropFirst(width)
            return value
        }

        mutating func take(_ n: Int) -> ArraySlice<UInt8> {
            let part = bytes.prefix(n)
            bytes = bytes.dropFirst(n)
            return part
        }
    }
}
