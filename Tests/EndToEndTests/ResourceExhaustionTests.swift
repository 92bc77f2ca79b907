import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Out of file descriptors (issue #15, item 4): the server keeps running, backs off in accept, and
/// its Sites watcher never takes a folder it cannot read for an empty one.
@Suite(.serialized)
struct ResourceExhaustionTests {
    @Test func runningOutOfDescriptorsUnpublishesNothing() async throws {
        let canopy = try CanopyInstance("emfile")
        var repositories: [SiteRepository] = []
        for name in ["one", "two"] {
            repositories.append(try SiteRepository(in: canopy, name: name))
            try canopy.writeSite(
                name, "repository: ../repos/\(name).git\nbranches:\n  main: { domains: [\(name).test] }\n")
        }
        try await canopy.start(extraArguments: ["--max-connections", "5000"])
        for repository in repositories {
            try repository.commit("first")
            try repository.push("main")
        }
        try await canopy.waitForContent("one.test", "Hello from branch")
        try await canopy.waitForContent("two.test", "Hello from branch")

        // Leave the server a few descriptors more than it holds now (its soft limit, which it raised
        // at start only), then connect more clients than that: the rest wait in the backlog.
        let held = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(canopy.pid)/fd").count
        try sh(["prlimit", "--pid", "\(canopy.pid)", "--nofile=\(held + 16):"])
        var sockets: [Int32] = []
        for _ in 0..<120 { sockets.append(try connectLoopback(port: canopy.edgePort)) }
        try await waitUntil("the server to run out of descriptors in accept\n\(canopy.serverLogTail)") {
            canopy.serverLog.contains("cannot accept connections")
        }
        // The Sites folder is checked every second: several checks fail while descriptors are short.
        try await Task.sleep(for: .seconds(4))
        for fd in sockets { close(fd) }
        try #require(kill(canopy.pid, 0) == 0, "the server died while out of descriptors:\n\(canopy.serverLogTail)")
        try sh(["prlimit", "--pid", "\(canopy.pid)", "--nofile=4096:"])

        // Every site still serves, and none was removed on the way.
        try await canopy.waitForContent("one.test", "Hello from branch", timeout: .seconds(30))
        try await canopy.waitForContent("two.test", "Hello from branch", timeout: .seconds(30))
        #expect(!canopy.serverLog.contains("site removed"))
        #expect(canopy.serverLog.contains("cannot read the Sites folder"))
        #expect(try await canopy.stop() == 0)
    }
}
