import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One persistent HTTP/1.1 connection (keep-alive), for load through traffic changes.
final class KeepAliveClient {
    private var fd: Int32 = -1
    private var buffer = [UInt8]()
    let port: Int

    init(port: Int) throws {
        self.port = port
        try open()
    }

    private func open() throws {
        if fd >= 0 { close(fd) }
        fd = try connectLoopback(port: port)
        buffer.removeAll()
    }

    /// GET `path` with `host`; returns the status and headers (lowercased names), reading the body.
    func get(
        host: String, path: String = "/", headers: [String: String] = [:]
    ) throws -> (status: Int, headers: [String: String]) {
        var request = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\n"
        for (k, v) in headers { request += "\(k): \(v)\r\n" }
        request += "\r\n"
        let bytes = Array(request.utf8)
        guard send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else { throw TestFailure("send failed") }
        // Head.
        var headEnd: Int?
        while headEnd == nil {
            headEnd = find([13, 10, 13, 10])
            if headEnd == nil { try fill() }
        }
        let head = String(decoding: buffer[0..<headEnd!], as: UTF8.self)
        buffer.removeFirst(headEnd! + 4)
        let lines = head.components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ")[1]) ?? 0
        var fields: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(fields["content-length"] ?? "0") ?? 0
        while buffer.count < length { try fill() }
        buffer.removeFirst(length)
        return (status, fields)
    }

    private func find(_ needle: [UInt8]) -> Int? {
        guard buffer.count >= needle.count else { return nil }
        for i in 0...(buffer.count - needle.count) where buffer[i] == needle[0] {
            if Array(buffer[i..<i + needle.count]) == needle { return i }
        }
        return nil
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &chunk, chunk.count, 0)
        guard n > 0 else { throw TestFailure("connection closed (\(n))") }
        buffer.append(contentsOf: chunk[0..<n])
    }

    deinit {
        if fd >= 0 { close(fd) }
    }
}
