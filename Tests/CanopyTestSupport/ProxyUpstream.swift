import Foundation

/// A real HTTP/1.1 upstream for proxy tests: Python's `http.server` (threading, keep-alive) in a
/// child process on a loopback port. Every request is answered with a JSON echo of what arrived
/// (method, path, headers, body length and SHA-256, whether it came chunked, the connection's
/// number), except paths
/// whose last segment is `hop`, which answers with hop-by-hop headers that must not reach the client, `/chunked` answers
/// chunked without a Content-Length, `/silent` never answers, `/stats` says how many connections
/// were accepted.
public final class ProxyUpstream: @unchecked Sendable {
    // @unchecked: `process` is set once in init and only read (terminate) afterwards.
    public let port: Int
    private let process: Process

    public static let script = #"""
        import hashlib, json, sys, threading, time
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        connections = 0
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                global connections
                with lock:
                    connections += 1
                    self.number = connections
                super().setup()

            def log_message(self, *args):
                pass

            def send(self, status, body, headers=()):
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                digest = hashlib.sha256()
                left = length
                while left > 0:
                    chunk = self.rfile.read(min(left, 65536))
                    if not chunk:
                        break
                    digest.update(chunk)
                    left -= len(chunk)
                chunked = (self.headers.get("Transfer-Encoding") or "").lower() == "chunked"
                while chunked:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b""):
                            pass
                        break
                    digest.update(self.rfile.read(size))
                    length += size
                    self.rfile.read(2)
                name = self.path.split("?")[0].rsplit("/", 1)[-1]
                if name == "silent":
                    time.sleep(30)
                    return
                if name == "stats":
                    return self.send(200, json.dumps({"connections": connections}).encode())
                if name == "hop":
                    return self.send(200, b"{}", [
                        ("Connection", "X-Secret, keep-alive"), ("X-Secret", "hidden"), ("Keep-Alive", "timeout=5"),
                        ("Proxy-Agent", "up"), ("Upgrade", "h2c"), ("X-Kept", "yes"), ("Set-Cookie", "a=1")])
                if name == "chunked":
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for part in (b"hello ", b"chunked ", b"world"):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.write(b"0\r\n\r\n")
                    return
                echo = {"method": self.command, "path": self.path, "connection": self.number,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "bodyLength": length - left, "bodySHA256": digest.hexdigest(), "chunked": chunked}
                self.send(200, json.dumps(echo).encode(), [("X-Upstream", "python")])

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = handle_any

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """#

    public init() throws {
        let file = NSTemporaryDirectory() + "canopy-upstream-\(UUID().uuidString).py"
        try Self.script.write(toFile: file, atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", file]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        var line = Data()
        while true {
            guard let byte = try pipe.fileHandleForReading.read(upToCount: 1), let first = byte.first else {
                throw TestFailure("the Python upstream did not start")
            }
            if first == 0x0A { break }
            line.append(first)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        else { throw TestFailure("the Python upstream printed no port") }
        self.port = port
    }

    deinit { stop() }

    public func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// Connections the upstream has accepted so far.
    public func connections() throws -> Int {
        let data = try runProcess(
            ["curl", "-s", "--max-time", "10", "http://127.0.0.1:\(port)/stats"], discardingErrors: true
        ).output
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return (object?["connections"] as? Int ?? 0) - 1  // (this request's own connection)
    }
}

/// A loopback port nothing listens on (bound, then closed).
public func closedLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
