import CanopyEdge
import CanopyTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Testing

@testable import CanopyControl

/// The access log is a service of the one group (#12): at graceful shutdown it writes what the
/// edge queued last, and the group's `run()` returns only once those lines are in the file. (Before,
/// the edge's shutdown only asked the log's thread to stop; the thread wrote at its next 0.2 s tick,
/// after `canopy serve` could already have exited on SIGTERM.) nginx writes its buffered access log
/// lines when a worker exits gracefully as well (`access_log ... buffer=`: "the buffered data is
/// written ... when a worker process is re-opening log files or is shutting down").
struct AccessLogServiceTests {
    let logger = Logger(label: "test")

    @Test func linesWrittenJustBeforeShutdownAreInTheFileAfterIt() async throws {
        let folder = try TempFolder("access-log")
        try FileManager.default.createDirectory(atPath: folder.path + "/store", withIntermediateDirectories: true)
        let path = folder.path + "/access.log"
        let edge = EdgeServer(
            configuration: EdgeConfiguration(
                host: "127.0.0.1", port: 0, eventLoopThreads: 1, storeRoot: folder.path + "/store", accessLog: path),
            logger: logger)
        let port = try await edge.start()
        let group = ServiceGroup(
            services: CanopyServer.edgeServices(edge), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            // No site serves these hosts: each answer (404) is still a line of the access log.
            for index in 0..<3 {
                _ = try TestHTTP.request(port: port, path: "/last-\(index)", host: "unknown.test")
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines.map { $0.contains("\"GET /last-") }.allSatisfy { $0 })
        #expect(lines.last?.contains("/last-2 HTTP/1.1\"") == true)
    }
}
