import CanopyTestSupport
import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing

@testable import CanopyControl

#if canImport(Glibc)
    import Glibc
#endif

/// Issue #15: the admin listener read whole bodies before checking the token, with no timeouts and
/// no connection limit (95 stalled 4 MiB uploads held 472 MB). Over real loopback sockets: the head
/// is checked before the body is read, slow heads and bodies are closed, connections are limited.
/// Each client waits at most its socket's 30-second receive timeout, so without the limits a test
/// fails instead of hanging; no test measures time.
struct AdminListenerLimitsTests {
    /// Requests reaching the handler (the head check refuses those without `Authorization: Bearer good`).
    final class Counter: @unchecked Sendable {  // `value` is only touched while holding `lock`.
        private let lock = NSLock()
        private var count = 0
        func add() { lock.withLock { count += 1 } }
        var value: Int { lock.withLock { count } }
    }

    /// Runs the server's tasks on a thread of their own: other suites in this process block the
    /// cooperative pool's few threads with their clients, which would starve the server's answers.
    final class ThreadExecutor: TaskExecutor {
        let queue = DispatchQueue(label: "admin-limits-server")
        func enqueue(_ job: consuming ExecutorJob) {
            let job = UnownedJob(job)
            queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
        }
    }
    static let executor = ThreadExecutor()

    func withServer(
        _ limits: AdminLimits, _ body: @Sendable (_ port: Int, _ handled: Counter) async throws -> Void
    ) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let handled = Counter()
        let server = AdminServer(
            group: group, logger: Logger(label: "test"), limits: limits,
            headCheck: { request in
                request.headers.first(name: "Authorization") == "Bearer good" ? nil : .error(.unauthorized, "no token")
            },
            handler: { request in
                handled.add()
                return .text("\(request.body.readableBytes)")
            })
        let (listener, port) = try await server.bind(host: "127.0.0.1", port: 0)
        let serving = Task(executorPreference: Self.executor) { try await server.serve(listener) }
        defer {
            serving.cancel()
            listener.channel.close(promise: nil)
        }
        try await body(port, handled)
        serving.cancel()
        listener.channel.close(promise: nil)
        _ = await serving.result
        try await group.shutdownGracefully()
    }

    /// Runs blocking client code on a thread of its own: the server's handlers need the cooperative pool.
    static func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
        }
    }

    /// Sends `text`, then reads until the server closes or resets (true) or the receive timeout
    /// passes (false).
    static func exchange(_ fd: Int32, _ text: String) async -> (reply: String, closed: Bool) {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                _ = text.utf8CString.withUnsafeBytes { send(fd, $0.baseAddress, $0.count - 1, 0) }
                var data = Data()
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let n = recv(fd, &buffer, buffer.count, 0)
                    if n == 0 { return continuation.resume(returning: (String(decoding: data, as: UTF8.self), true)) }
                    // A reset is the server hanging up too; only the receive timeout means it kept waiting.
                    if n < 0 {
                        let reset = errno == ECONNRESET
                        return continuation.resume(returning: (String(decoding: data, as: UTF8.self), reset))
                    }
                    data.append(contentsOf: buffer[0..<n])
                }
            }
        }
    }

    @Test func anUnauthenticatedBodyIsRefusedOnItsHeadAndNeverRead() async throws {
        try await withServer(AdminLimits()) { port, handled in
            let fd = try connectLoopback(port: port)
            defer { close(fd) }
            // 4 MiB announced, not one byte sent: the answer comes anyway, and the server hangs up.
            let (reply, closed) = await Self.exchange(
                fd, "POST /api/v1/rollback HTTP/1.1\r\nHost: admin\r\nContent-Length: 4194304\r\n\r\n")
            #expect(reply.hasPrefix("HTTP/1.1 401"), "\(reply)")
            #expect(closed)
            #expect(handled.value == 0)
            // With the token the same request is read whole and handled.
            let ok = try await Self.offPool {
                try TestHTTP.request(
                    "POST", port: port, path: "/api/v1/rollback", host: "admin",
                    headers: ["Authorization": "Bearer good"], body: Data(repeating: 1, count: 1000))
            }
            #expect(ok.status == 200 && ok.text == "1000")
        }
    }

    @Test func aStalledHeadOrBodyIsClosed() async throws {
        var limits = AdminLimits()
        limits.headTimeout = .milliseconds(300)
        limits.bodyTimeout = .milliseconds(300)
        try await withServer(limits) { port, handled in
            let slowHead = try connectLoopback(port: port)
            defer { close(slowHead) }
            let head = await Self.exchange(slowHead, "GET /api/v1/status HTTP/1.1\r\nHost: adm")
            #expect(head.closed && head.reply.isEmpty, "\(head.reply)")

            let slowBody = try connectLoopback(port: port)
            defer { close(slowBody) }
            let body = await Self.exchange(
                slowBody,
                "POST /x HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer good\r\nContent-Length: 100\r\n\r\nonly ten.."
            )
            #expect(body.closed && body.reply.isEmpty, "\(body.reply)")

            // An idle keep-alive connection is closed after its answer, too.
            let idle = try connectLoopback(port: port)
            defer { close(idle) }
            let answered = await Self.exchange(
                idle, "GET /x HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer good\r\n\r\n")
            #expect(answered.reply.hasPrefix("HTTP/1.1 200") && answered.closed, "\(answered.reply)")
            #expect(handled.value == 1)
        }
    }

    @Test func connectionsOverTheLimitAreClosedAtOnce() async throws {
        var limits = AdminLimits()
        limits.maxConnections = 2
        // The two held connections stay idle meanwhile: on a loaded machine that can outlast the
        // default 15 s keep-alive, and a connection closed for it would let the third in.
        limits.headTimeout = .seconds(600)
        try await withServer(limits) { port, _ in
            let held = try [connectLoopback(port: port), connectLoopback(port: port)]
            defer { close(held[1]) }
            // The two are accepted and answered (kept open)...
            for fd in held {
                let answered = try await Self.offPool { () -> Int in
                    _ = "GET /x HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer good\r\n\r\n".utf8CString
                        .withUnsafeBytes { send(fd, $0.baseAddress, $0.count - 1, 0) }
                    var buffer = [UInt8](repeating: 0, count: 4096)
                    return recv(fd, &buffer, buffer.count, 0)
                }
                #expect(answered > 0)
            }
            // ...a third is closed without an answer.
            let third = try connectLoopback(port: port)
            defer { close(third) }
            let refused = await Self.exchange(
                third, "GET /x HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer good\r\n\r\n")
            #expect(refused.closed && refused.reply.isEmpty, "\(refused.reply)")
            // When one of the two goes, a new connection is served again.
            close(held[0])
            #expect(
                await eventuallyServed(port: port), "a connection was refused after the count went under the limit")
        }
    }

    func eventuallyServed(port: Int) async -> Bool {
        for _ in 0..<100 {
            let answer = try? await Self.offPool {
                try TestHTTP.request(
                    "GET", port: port, path: "/x", host: "admin", headers: ["Authorization": "Bearer good"])
            }
            if answer?.status == 200 {
                return true
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}
