import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A response read off the wire.
public struct HTTPResult: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: Data

    public var text: String { String(decoding: body, as: UTF8.self) }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

/// A TCP connection to 127.0.0.1:`port` with a 30-second receive timeout.
public func connectLoopback(port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket() failed") }
    var timeout = timeval(tv_sec: 30, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else {
        close(fd)
        throw TestFailure("cannot connect to 127.0.0.1:\(port)")
    }
    return fd
}

/// A minimal HTTP/1.1 client over a real TCP socket: one request per connection, any Host header.
public enum TestHTTP {
    public static func request(
        _ method: String = "GET", port: Int, path: String = "/", host: String, headers: [String: String] = [:],
        body: Data? = nil
    ) throws -> HTTPResult {
        let fd = try connectLoopback(port: port)
        defer { close(fd) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        var payload = Data(head.utf8)
        if let body { payload.append(body) }
        _ = payload.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        // Read until the response is complete by its own framing (Content-Length or chunked), or
        // until the peer closes: some servers keep the connection open despite `Connection: close`.
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !isComplete(data, method: method) {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        return try parse(data, method: method)
    }

    public static func isComplete(_ data: Data, method: String) -> Bool {
        guard let end = data.range(of: Data("\r\n\r\n".utf8)) else { return false }
        let head = String(decoding: data[..<end.lowerBound], as: UTF8.self).lowercased()
        let bodyCount = data.count - end.upperBound
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        if method == "HEAD" || status == 204 || status == 304 || (100..<200).contains(status) { return true }
        for line in head.components(separatedBy: "\r\n") {
            if line.hasPrefix("content-length:"), let n = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) {
                return bodyCount >= n
            }
            if line.hasPrefix("transfer-encoding:") && line.contains("chunked") {
                return data[end.upperBound...].range(of: Data("\r\n0\r\n\r\n".utf8)) != nil
                    || data[end.upperBound...].starts(with: Data("0\r\n\r\n".utf8))
            }
        }
        return false
    }

    public static func parse(_ data: Data, method: String) throws -> HTTPResult {
        guard let end = data.range(of: Data("\r\n\r\n".utf8)) else {
            throw TestFailure("no complete HTTP response (\(data.count) bytes)")
        }
        let lines = String(decoding: data[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ")[1]) ?? 0
        let headers = lines.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var body = Data(data[end.upperBound...])
        if headers.contains(where: { $0.0.lowercased() == "transfer-encoding" && $0.1.lowercased() == "chunked" }) {
            body = dechunk(body)
        }
        return HTTPResult(status: status, headers: headers, body: method == "HEAD" ? Data() : body)
    }

    public static func dechunk(_ data: Data) -> Data {
        var out = Data()
        var rest = data[...]
        while let lineEnd = rest.range(of: Data("\r\n".utf8)) {
            let size = Int(String(decoding: rest[..<lineEnd.lowerBound], as: UTF8.self), radix: 16) ?? 0
            if size == 0 { break }
            let start = lineEnd.upperBound
            out.append(rest[start..<rest.index(start, offsetBy: size)])
            rest = rest[rest.index(start, offsetBy: size + 2)...]
        }
        return out
    }
}
