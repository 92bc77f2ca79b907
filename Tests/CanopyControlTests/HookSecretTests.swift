import Foundation
import Testing

@testable import CanopyControl

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 15 item 6: the post-receive hook put the admin token on curl's command line, where any
/// process (a build included) reads it from `/proc/PID/cmdline`.
@Suite struct HookSecretTests {
    /// A listener that takes one request and never answers (so the hook's curl stays alive).
    final class SlowServer: @unchecked Sendable {
        // @unchecked: `received` is written by the accept thread and read after `done` is signalled.
        let fd: Int32
        let port: Int
        private(set) var received = Data()
        let done = DispatchSemaphore(value: 0)

        init() throws {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            self.fd = fd
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                    bind(fd, pointer, length) == 0 && listen(fd, 4) == 0 && getsockname(fd, pointer, &length) == 0
                }
            }
            guard bound else { throw CanopyError("cannot listen: \(String(cString: strerror(errno)))") }
            port = Int(UInt16(bigEndian: address.sin_port))
            Thread.detachNewThread { [self] in
                let client = accept(fd, nil, nil)
                var buffer = [UInt8](repeating: 0, count: 4096)
                while client >= 0 {
                    let n = read(client, &buffer, buffer.count)
                    if n <= 0 { break }
                    received.append(contentsOf: buffer[0..<n])
                    if received.range(of: Data("\r\n\r\n".utf8)) != nil { break }
                }
                done.signal()
                // Never answers; the client gives up on its own (-m 2).
                sleep(5)
                if client >= 0 { close(client) }
            }
        }

        deinit { close(fd) }
    }

    /// The command lines of `pid` and all its descendants, by pid (walking `/proc/PID/task/*/children`,
    /// which stays cheap however busy the machine is).
    static func commandLines(of pid: Int32) -> [Int32: String] {
        var lines: [Int32: String] = [:]
        var queue = [pid]
        while let next = queue.popLast() {
            if let data = FileManager.default.contents(atPath: "/proc/\(next)/cmdline"), !data.isEmpty {
                lines[next] = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            }
            for task in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(next)/task")) ?? [] {
                let children =
                    (try? String(contentsOfFile: "/proc/\(next)/task/\(task)/children", encoding: .utf8)) ?? ""
                queue += children.split(separator: " ").compactMap { Int32($0) }
            }
        }
        return lines
    }

    @Test func thePushHookNeverPutsTheTokenOnACommandLine() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-hook-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let data = DataFolder(root + "/data")
        try data.create()
        // The same secret in both token files: the hook must not leak whichever one it reads.
        let secret = "s3cret" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        try (secret + "\n").write(toFile: data.adminToken, atomically: true, encoding: .utf8)
        try (secret + "\n").write(toFile: data.hookToken, atomically: true, encoding: .utf8)
        let server = try SlowServer()
        try "http://127.0.0.1:\(server.port)\n".write(toFile: data.adminAddress, atomically: true, encoding: .utf8)
        let created = try RepositorySetup.initialize(path: root + "/site.git", dataDirectory: data.root)

        let hook = Process()
        hook.executableURL = URL(fileURLWithPath: created.repository + "/hooks/post-receive")
        let input = Pipe()
        hook.standardInput = input
        try hook.run()
        try input.fileHandleForWriting.write(contentsOf: Data("0000 1111 refs/heads/main\n".utf8))
        try input.fileHandleForWriting.close()

        // Watched from a thread of its own, polling every 2 ms: curl lives for at most 2 s, and the
        // cooperative pool can be held longer than that by other tests' blocking work.
        let pid = hook.processIdentifier
        let (leaks, sawCurl) = await withCheckedContinuation {
            (done: CheckedContinuation<(Set<String>, Bool), Never>) in
            Thread.detachNewThread {
                var leaks: Set<String> = []
                var sawCurl = false
                while kill(pid, 0) == 0 {
                    if (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.contains(") Z ") == true {
                        break  // exited, not yet reaped
                    }
                    for line in Self.commandLines(of: pid).values {
                        if line.contains(secret) { leaks.insert(line) }
                        if line.contains("curl") && line.contains("hooks/local") { sawCurl = true }
                    }
                    usleep(2_000)
                }
                done.resume(returning: (leaks, sawCurl))
            }
        }
        hook.waitUntilExit()
        #expect(sawCurl, "the hook's curl was never seen running")
        #expect(leaks.isEmpty, "the token is on a command line: \(leaks)")
        // The token still reaches the server, in a header.
        #expect(server.done.wait(timeout: .now() + 5) == .success)
        let request = String(decoding: server.received, as: UTF8.self)
        #expect(request.hasPrefix("POST /api/v1/hooks/local?repo="))
        #expect(request.contains("Authorization: Bearer \(secret)\r\n"))
        #expect(hook.terminationStatus == 0)
    }
}
