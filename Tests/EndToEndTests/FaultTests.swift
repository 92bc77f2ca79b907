import Foundation
import Testing

/// Issue 15 item 8: a full disk crashed the server (a trap in the build-log writer), which then
/// crash-looped re-running the interrupted build and would not start while the disk was full.
@Suite(.serialized)
struct FaultTests {
    static let amplify = """
        version: 1
        frontend:
          phases:
            build:
              commands:
                - mkdir -p out
                - cp index.html out/index.html
                - if [ -f size.txt ]; then head -c "$(cat size.txt)" /dev/urandom > out/big.bin; fi
                - if [ -f slow.txt ]; then sleep 120; fi
          artifacts:
            baseDirectory: out
            files: ['**/*']

        """

    static let sitesFile = "repository: ../repos/site.git\nbranches:\n  main: { domains: [site.test] }\n"

    /// A repository of the small site above, with `marker` in its page.
    static func siteRepository(_ canopy: CanopyInstance, marker: String) throws -> SiteRepository {
        let repo = try SiteRepository(in: canopy, template: nil)
        try repo.write("amplify.yml", amplify)
        try repo.write("index.html", "<p>\(marker)</p>\n")
        return repo
    }

    /// A port nothing listens on now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else { throw TestFailure("cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func available(_ path: String) -> Int64 {
        var st = statvfs()
        return statvfs(path, &st) == 0 ? Int64(st.f_bavail) * Int64(st.f_frsize) : 0
    }

    @Test func aFullDiskFailsTheBuildKeepsServingAndLetsTheServerStart() async throws {
        guard getuid() == 0 else {
            print("FaultTests: skipped the full-disk test (it mounts a tmpfs, which needs root)")
            return
        }
        let canopy = try CanopyInstance("diskfull")
        try FileManager.default.createDirectory(atPath: canopy.data, withIntermediateDirectories: true)
        try sh(["mount", "-t", "tmpfs", "-o", "size=48m", "canopy-test", canopy.data])
        defer {
            canopy.kill9()
            _ = try? sh(["umount", "-l", canopy.data], allowFailure: true)
        }
        let ports = (edge: try Self.freePort(), admin: try Self.freePort())
        try canopy.writeSite("site", Self.sitesFile)
        try await canopy.start(extraArguments: ["--build-user", "nobody"], ports: ports)
        let repo = try Self.siteRepository(canopy, marker: "first")
        try repo.commit("First")
        try repo.push("main")
        try await canopy.waitForContent("site.test", "first")

        // A build whose artifacts do not fit: copying them into the data folder fills it. (The
        // checkout is outside the data folder, as with every build run as another user: removing it
        // frees nothing there.)
        let free = Self.available(canopy.data)
        try repo.write("size.txt", "\(free + (2 << 20))")
        try repo.write("index.html", "<p>too big</p>\n")
        let big = try repo.commit("Too big")
        try repo.push("main")
        var failed: [String: Any] = [:]
        try await waitUntil("the too-big build to fail\n\(canopy.serverLogTail)", timeout: .seconds(120)) {
            guard let build = try canopy.builds().first(where: { $0["commit"] as? String == big }) else { return false }
            failed = build
            return ["failed", "succeeded"].contains(build["status"] as? String ?? "")
        }
        #expect(failed["status"] as? String == "failed")
        let message = failed["error"] as? String ?? ""
        #expect(message.contains("The disk is full"), "the build's error: \(message)")
        let id = try #require(failed["id"] as? String)
        let log = try canopy.cli(["logs", id, "--admin", "http://127.0.0.1:\(ports.admin)"])
        #expect(log.contains("Build failed") && log.contains("The disk is full"), "log:\n\(log)")
        // The previous deployment serves on; what the failed build left is gone.
        #expect(try canopy.get("site.test").text.contains("first"))
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: canopy.data + "/builds/\(id)")) ?? []
        #expect(leftovers == ["build.log"], "left in the build's folder: \(leftovers)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: canopy.data + "/store/tmp").isEmpty)

        // Full to the last byte, the server restarts (after a kill -9) and serves.
        _ = try sh(["dd", "if=/dev/zero", "of=\(canopy.data)/filler", "bs=1M"], allowFailure: true)
        #expect(Self.available(canopy.data) < 64 << 10)
        canopy.kill9()
        try await canopy.start(extraArguments: ["--build-user", "nobody"], ports: ports)
        try await waitUntil("site.test to serve on a full disk\n\(canopy.serverLogTail)") {
            try canopy.get("site.test").text.contains("first")
        }
        let builds = try canopy.cli(["builds", "--admin", "http://127.0.0.1:\(ports.admin)"])
        #expect(builds.contains(String(big.prefix(7))) && builds.contains("failed"), "canopy builds:\n\(builds)")

        // A push while the disk is full: whatever it manages to write, the server does not go down.
        try repo.write("index.html", "<p>pushed while full</p>\n")
        try FileManager.default.removeItem(atPath: repo.work + "/size.txt")
        try repo.commit("While full")
        try repo.push("main")
        try await Task.sleep(for: .seconds(5))
        #expect(canopy.isRunning, "the server died on a full disk:\n\(canopy.serverLogTail)")
        #expect(try canopy.get("site.test").text.contains("first"))

        // Space again: the next push deploys.
        try FileManager.default.removeItem(atPath: canopy.data + "/filler")
        try repo.write("index.html", "<p>after the disk was freed</p>\n")
        try repo.commit("Fits")
        try repo.push("main")
        try await canopy.waitForContent("site.test", "after the disk was freed")
    }

    /// Processes whose environment names this build.
    static func processes(ofBuild id: String) -> [Int32] {
        let marker = Data("CANOPY_BUILD_ID=\(id)".utf8)
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { name in
            guard let pid = Int32(name), let environment = FileManager.default.contents(atPath: "/proc/\(name)/environ")
            else { return nil }
            return environment.split(separator: 0).contains(marker) ? pid : nil
        }
    }

    static func commandLine(_ pid: Int32) -> String {
        let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()
        return String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
    }

    @Test func anInterruptedBuildIsRetriedOnceAndItsProcessesAreStopped() async throws {
        let canopy = try CanopyInstance("interrupted")
        try canopy.writeSite("site", Self.sitesFile)
        try await canopy.start()
        let repo = try Self.siteRepository(canopy, marker: "first")
        try repo.commit("First")
        try repo.push("main")
        try await canopy.waitForContent("site.test", "first")
        try repo.write("slow.txt", "the build sleeps")
        let slow = try repo.commit("Slow")
        try repo.push("main")

        var seen: Set<String> = []
        for attempt in 1...2 {
            var running = ""
            try await waitUntil("attempt \(attempt) of the slow build to run\n\(canopy.serverLogTail)") {
                let build = try canopy.builds().first {
                    $0["commit"] as? String == slow && $0["status"] as? String == "running"
                        && !seen.contains($0["id"] as? String ?? "")
                }
                running = build?["id"] as? String ?? ""
                // Its last command, which lasts: before it, the build's processes come and go.
                return !running.isEmpty
                    && Self.processes(ofBuild: running).contains { Self.commandLine($0).hasPrefix("sleep 120") }
            }
            seen.insert(running)
            let before = Self.processes(ofBuild: running).map { Self.commandLine($0) }
            canopy.kill9()
            let after = Self.processes(ofBuild: running).map { Self.commandLine($0) }
            #expect(!after.isEmpty, "attempt \(attempt): the build's processes \(before) died with the server")
            try await canopy.start()
            try await waitUntil("the interrupted build's processes to be stopped") {
                Self.processes(ofBuild: running).isEmpty
            }
        }
        // Twice interrupted: not built a third time, and nothing says running.
        try await Task.sleep(for: .seconds(4))
        let builds = try canopy.builds().filter { $0["commit"] as? String == slow }
        #expect(builds.count == 2, "builds of the slow commit: \(builds)")
        #expect(builds.allSatisfy { $0["status"] as? String == "interrupted" }, "\(builds)")
        #expect(canopy.serverLog.contains("not retried"))
        #expect(try canopy.get("site.test").text.contains("first"))
    }
}

/// Issue 15 (medium): two branches whose DNS labels collide displaced each other's previews; build
/// folders were never pruned.
@Suite(.serialized)
struct BranchHygieneTests {
    static let sitesFile = """
        repository: ../repos/site.git
        retention: 1
        branches:
          main: { domains: [site.test] }
        previews:
          - branches: "feature/*"
            domain: "{branch}.preview.site.test"

        """

    @Test func branchesWhoseLabelsCollideAreAnErrorNamingBoth() async throws {
        let canopy = try CanopyInstance("collide")
        try canopy.writeSite("site", Self.sitesFile)
        try await canopy.start()
        let repo = try FaultTests.siteRepository(canopy, marker: "lowercase login")
        try repo.commit("lower")
        try repo.push("feature/login")
        try await canopy.waitForContent("feature-login.preview.site.test", "lowercase login")

        try repo.write("index.html", "<p>capital Login</p>\n")
        let capital = try repo.commit("capital")
        try repo.push("feature/Login")
        var refused: [String: Any] = [:]
        try await waitUntil("feature/Login to be refused\n\(canopy.serverLogTail)") {
            refused = try canopy.builds(branch: "feature/Login").first ?? [:]
            return (refused["status"] as? String).map { $0 != "queued" && $0 != "running" } ?? false
        }
        #expect(refused["status"] as? String == "failed")
        #expect(refused["commit"] as? String == capital)
        let error = refused["error"] as? String ?? ""
        #expect(error.contains("`feature/Login`") && error.contains("`feature/login`"), "error: \(error)")
        #expect(error.contains("feature-login.preview.site.test"))
        // The branch that came first keeps its hostname, across a restart too.
        #expect(try canopy.get("feature-login.preview.site.test").text.contains("lowercase login"))
        _ = try await canopy.stop()
        try await canopy.start()
        try await Task.sleep(for: .seconds(3))
        #expect(try canopy.get("feature-login.preview.site.test").text.contains("lowercase login"))
        #expect(try canopy.builds(branch: "feature/Login").count == 1)
    }

    @Test func oldBuildFoldersArePrunedWithRetention() async throws {
        let canopy = try CanopyInstance("prunebuilds")
        try canopy.writeSite("site", Self.sitesFile)
        try await canopy.start()
        let repo = try FaultTests.siteRepository(canopy, marker: "one")
        try repo.commit("one")
        try repo.push("main")
        try await canopy.waitForContent("site.test", "one")
        let first = try #require(canopy.builds(branch: "main").first?["id"] as? String)
        for marker in ["two", "three"] {
            try repo.write("index.html", "<p>\(marker)</p>\n")
            try repo.commit(marker)
            try repo.push("main")
            try await canopy.waitForContent("site.test", marker)
        }
        let newest = try #require(canopy.builds(branch: "main").first?["id"] as? String)
        try await waitUntil("the first build's folder to be pruned") {
            !FileManager.default.fileExists(atPath: canopy.data + "/builds/\(first)")
        }
        #expect(FileManager.default.fileExists(atPath: canopy.data + "/builds/\(newest)/build.log"))
        let log = try canopy.cli(["logs", first])
        #expect(log.contains("retention removed it"), "canopy logs \(first): \(log)")
    }
}
