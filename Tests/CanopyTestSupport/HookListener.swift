import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A tiny HTTP listener on loopback that records the bodies POSTed to it (outgoing notifications).
public final class HookListener: @unchecked Sendable {
    // @unchecked: `bodies` is guarded by `lock`; the socket is only used by the accept thread.
    private let fd: Int32
    private let lock = NSLock()
    private var bodies: [String] = []
    public let port: Int

    public init() throws {
        let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(sock, $0, length) == 0 && getsockname(sock, $0, &length) == 0
            }
        }
        guard bound, listen(sock, 16) == 0 else { throw TestFailure("cannot listen") }
        fd = sock
        port = Int(UInt16(bigEndian: addr.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    private func acceptLoop() {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 { return }
            var data = Data()
            var buffer = [UInt8](repeating: 0, count: 65536)
            while !TestHTTP.isCompleteRequest(data) {
                let n = recv(client, &buffer, buffer.count, 0)
                if n <= 0 { break }
                data.append(contentsOf: buffer[0..<n])
            }
            if let end = data.range(of: Data("\r\n\r\n".utf8)) {
                let body = String(decoding: data[end.upperBound...], as: UTF8.self)
                lock.withLock { bodies.append(body) }
            }
            let reply = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"
            _ = reply.withCString { send(client, $0, strlen($0), 0) }
            close(client)
        }
    }

    /// The JSON objects received so far.
    public var events: [[String: Any]] {
        lock.withLock { bodies }.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    deinit { close(fd) }
}

extension TestHTTP {
    public static func isCompleteRequest(_ data: Data) -> Bool {
        guard let end = data.range(of: Data("\r\n\r\n".utf8)) else { return false }
        let head = String(decoding: data[..<end.lowerBound], as: UTF8.self).lowercased()
        for line in head.components(separatedBy: "\r\n") where line.hasPrefix("content-length:") {
            return data.count - end.upperBound >= Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        return true
    }
}
