import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One parsed HTTP/1.1 response.
struct RawResponse {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    func all(_ name: String) -> [String] {
        headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
    }

    var text: String { String(decoding: body, as: UTF8.self) }
}

enum RawHTTPError: Error {
    case connect(Int32)
    case closed
    case malformed(String)
}

/// A blocking TCP socket connected to 127.0.0.1:`port`, with receive (and send) timeouts in seconds.
/// `source`: the local address to connect from (another loopback address such as 127.0.0.2: Linux
/// routes all of 127.0.0.0/8 to lo), so that the edge sees that peer.
func connectToLoopback(port: Int, receiveTimeout: Int, sendTimeout: Int? = nil, source: String? = nil) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    if let source {
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = inet_addr(source)
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if bound != 0 {
            let code = errno
            close(fd)
            throw RawHTTPError.connect(code)
        }
    }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var receive = timeval(tv_sec: receiveTimeout, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &receive, socklen_t(MemoryLayout<timeval>.size))
    if let sendTimeout {
        var send = timeval(tv_sec: sendTimeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send, socklen_t(MemoryLayout<timeval>.size))
    }
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    if result != 0 {
        let code = errno
        close(fd)
        throw RawHTTPError.connect(code)
    }
    return fd
}

/// A minimal blocking HTTP/1.1 client over a real TCP socket: keep-alive and pipelining.
final class RawHTTPClient {
    private let fd: Int32
    private var buffer: [UInt8] = []

    /// `source`: the local address to connect from (see `connectToLoopback`).
    init(port: Int, source: String? = nil) throws {
        fd = try connectToLoopback(port: port, receiveTimeout: 60, source: source)
    }

    deinit { close(fd) }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { throw RawHTTPError.closed }
            sent += n
        }
    }

    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { return false }
        buffer += chunk[0..<n]
        return true
    }

    /// True when the server closes the connection within `milliseconds`, nothing else arriving.
    func closes(within milliseconds: Int32) -> Bool {
        guard buffer.isEmpty else { return false }
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, milliseconds) > 0 else { return false }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_DONTWAIT)) <= 0
    }

    /// True when the server has closed the connection (after any buffered bytes).
    func isClosedByPeer() throws -> Bool {
        if !buffer.isEmpty { return false }
        return try !fill()
    }

    /// Reads one response; `head` says the request was HEAD (no body follows).
    func read(head: Bool = false) throws -> RawResponse {
        let terminator: [UInt8] = Array("\r\n\r\n".utf8)
        var end: Int?
        while end == nil {
            if buffer.count >= 4 {
                for i in 0...(buffer.count - 4) where Array(buffer[i..<i + 4]) == terminator {
                    end = i
                    break
                }
            }
            if end == nil, try !fill() { throw RawHTTPError.closed }
        }
        let headText = String(decoding: buffer[0..<end!], as: UTF8.self)
        buffer.removeFirst(end! + 4)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw RawHTTPError.malformed(headText) }
        var headers: [(String, String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append(
                (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        var response = RawResponse(status: status, headers: headers, body: [])
        if head || status == 304 || status == 204 { return response }
        let length = Int(response.header("content-length") ?? "0") ?? 0
        while buffer.count < length {
            if try !fill() { throw RawHTTPError.closed }
        }
        response.body = Array(buffer[0..<length])
        buffer.removeFirst(length)
        return response
    }

    /// One request and its response on this connection.
    func request(
        _ method: String = "GET", _ target: String, host: String? = "site.test", headers: [String: String] = [:]
    ) throws -> RawResponse {
        try send(Self.format(method, target, host: host, headers: headers))
        return try read(head: method == "HEAD")
    }

    static func format(
        _ method: String, _ target: String, host: String? = "site.test", headers: [String: String] = [:]
    )
        -> String
    {
        var text = "\(method) \(target) HTTP/1.1\r\n"
        if let host { text += "Host: \(host)\r\n" }
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { text += "\(name): \(value)\r\n" }
        return text + "\r\n"
    }
}
