import CanopyAdminAPI
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The CLI's way to the admin API: plain HTTP/1.1 over one TCP connection per call, with streaming
/// for `--follow`. The admin listener is on loopback by design, so there is no TLS here.
public struct AdminClient: Sendable {
    public var baseURL: String
    public var token: String?

    public init(baseURL: String, token: String?) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
    }

    /// Finds the admin URL and token the way every command does: flags, then `CANOPY_ADMIN` /
    /// `CANOPY_TOKEN`, then the data folder's `admin.address` and `admin.token`.
    public static func resolve(
        admin: String?, data: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    )
        -> AdminClient
    {
        let folder = data.map { ($0 as NSString).standardizingPath }
        let fileAddress = folder.flatMap {
            try? String(contentsOfFile: $0 + "/" + AdminFiles.address, encoding: .utf8)
        }?
        .trimmingCharacters(in: .whitespacesAndNewlines)
        let url = admin ?? environment["CANOPY_ADMIN"] ?? fileAddress ?? "http://127.0.0.1:8081"
        let fileToken = folder.flatMap { try? String(contentsOfFile: $0 + "/" + AdminFiles.token, encoding: .utf8) }?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return AdminClient(baseURL: url, token: environment["CANOPY_TOKEN"] ?? fileToken)
    }

    public struct Response: Sendable {
        public var status: Int
        public var body: Data

        public init(status: Int, body: Data) {
            self.status = status
            self.body = body
        }

        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// One request; the whole body is read.
    public func request(
        _ method: String, _ path: String, json: Data? = nil, headers: [String: String] = [:]
    ) throws
        -> Response
    {
        var collected = Data()
        let status = try stream(method, path, json: json, headers: headers) { collected.append($0) }
        return Response(status: status, body: collected)
    }

    /// One request; `onChunk` gets the body as it arrives. Returns the status.
    @discardableResult
    public func stream(
        _ method: String, _ path: String, json: Data? = nil, headers: [String: String] = [:], onChunk: (Data) -> Void
    ) throws -> Int {
        guard let url = URL(string: baseURL + path), let host = url.host else {
            throw AdminClientError("bad admin URL \(baseURL)")
        }
        let port = url.port ?? 80
        let fd = try connect(host: host, port: port)
        defer { close(fd) }
        var head = "\(method) \(url.path.isEmpty ? "/" : url.path)\(url.query.map { "?" + $0 } ?? "") HTTP/1.1\r\n"
        head += "Host: \(host):\(port)\r\nConnection: close\r\nUser-Agent: canopy-cli\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let json {
            head += "Content-Type: application/json\r\nContent-Length: \(json.count)\r\n"
        } else if method != "GET" {
            head += "Content-Length: 0\r\n"
        }
        head += "\r\n"
        var payload = Data(head.utf8)
        if let json { payload.append(json) }
        try payload.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let n = socketSend(fd, raw.baseAddress! + sent, raw.count - sent)
                if n <= 0 { throw AdminClientError("cannot send to the admin API at \(baseURL)") }
                sent += n
            }
        }
        return try readResponse(fd: fd, onChunk: onChunk)
    }

    private func connect(host: String, port: Int) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
            hints.ai_socktype = SOCK_STREAM
        #endif
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else {
            throw AdminClientError("cannot resolve the admin host \(host)")
        }
        defer { freeaddrinfo(result) }
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            if fd >= 0 {
                if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return fd }
                close(fd)
            }
            cursor = info.pointee.ai_next
        }
        throw AdminClientError(
            "cannot reach the admin API at \(baseURL): is `canopy serve` running? (set --admin or CANOPY_ADMIN)")
    }

    private func readResponse(fd: Int32, onChunk: (Data) -> Void) throws -> Int {
        var buffer = Data()
        var chunk = [UInt8](repeating: 0, count: 65536)
        func readMore() -> Bool {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { return false }
            buffer.append(contentsOf: chunk[0..<n])
            return true
        }
        let separator = Data("\r\n\r\n".utf8)
        var headerEnd: Range<Data.Index>?
        while headerEnd == nil {
            guard readMore() else { throw AdminClientError("the admin API closed the connection early") }
            headerEnd = buffer.range(of: separator)
        }
        let headText = String(decoding: buffer[..<headerEnd!.lowerBound], as: UTF8.self)
        let lines = headText.components(separatedBy: "\r\n")
        let statusParts = lines.first?.split(separator: " ") ?? []
        let status = statusParts.count > 1 ? Int(statusParts[1]) ?? 0 : 0
        let chunked = lines.contains {
            $0.lowercased().hasPrefix("transfer-encoding:") && $0.lowercased().contains("chunked")
        }
        buffer = Data(buffer[headerEnd!.upperBound...])
        if !chunked {
            if !buffer.isEmpty { onChunk(buffer) }
            buffer.removeAll()
            while readMore() {
                onChunk(buffer)
                buffer.removeAll()
            }
            return status
        }
        // Chunked transfer coding.
        while true {
            var lineEnd = buffer.range(of: Data("\r\n".utf8))
            while lineEnd == nil {
                guard readMore() else { return status }
                lineEnd = buffer.range(of: Data("\r\n".utf8))
            }
            let sizeText = String(decoding: buffer[..<lineEnd!.lowerBound], as: UTF8.self)
            let size = Int(sizeText.split(separator: ";").first ?? "0", radix: 16) ?? 0
            buffer = Data(buffer[lineEnd!.upperBound...])
            if size == 0 { return status }
            while buffer.count < size + 2 {
                guard readMore() else { return status }
            }
            onChunk(Data(buffer.prefix(size)))
            buffer = Data(buffer.dropFirst(size + 2))
        }
    }
}

/// Why the admin API could not be reached or answered something that is not HTTP.
public struct AdminClientError: Error, Sendable, CustomStringConvertible {
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// `send(2)` by its global name (`AdminClient.send` is the JSON request).
private func socketSend(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    send(fd, bytes, count, 0)
}
