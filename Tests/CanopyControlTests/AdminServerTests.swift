import CanopyTestSupport
import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing

@testable import CanopyControl

/// The admin listener's HTTP layer over real loopback sockets.
struct AdminServerTests {
    /// Serves a handler that answers with the size of the body it got, runs `body`, stops.
    func withServer(_ body: @Sendable (_ port: Int) async throws -> Void) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = AdminServer(group: group, logger: Logger(label: "test")) { request in
            .text("\(request.body.readableBytes)")
        }
        let (listener, port) = try await server.bind(host: "127.0.0.1", port: 0)
        let serving = Task { try await server.serve(listener) }
        do {
            try await body(port)
        } catch {
            serving.cancel()
            listener.channel.close(promise: nil)
            throw error
        }
        serving.cancel()
        listener.channel.close(promise: nil)
        _ = await serving.result
        try await group.shutdownGracefully()
    }

    /// A blocking request, on a thread of its own (not the cooperative pool the server's handler needs).
    func post(port: Int, bytes: Int) async throws -> HTTPResult {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(
                    with: Result {
                        try TestHTTP.request(
                            "POST", port: port, path: "/api/v1/anything", host: "admin",
                            headers: ["Content-Type": "application/octet-stream"],
                            body: Data(repeating: UInt8(ascii: "x"), count: bytes))
                    })
            }
        }
    }

    @Test func aBodyOverTheLimitIsAnswered413NotCut() async throws {
        try await withServer { port in
            let big = try await post(port: port, bytes: 5 << 20)
            #expect(big.status == 413)
            #expect(big.text.contains("4 MiB"))
            #expect(big.header("Connection") == "close")
            // Just under the limit arrives whole.
            let fits = try await post(port: port, bytes: (4 << 20) - 1)
            #expect(fits.status == 200)
            #expect(fits.text == "\((4 << 20) - 1)")
        }
    }
}
