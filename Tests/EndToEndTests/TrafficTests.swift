import Foundation
import Testing

/// Weighted blue/green, swap, rollback and progressive rollout, over real HTTP against the real binary.
@Suite(.serialized)
struct TrafficTests {
    static let sitesFile = """
        repository: ../repos/site.git
        branches:
          main: { domains: [site.test] }
          release: { domains: [release.site.test] }
          staging: { domains: [staging.site.test] }
        """

    /// main, release and staging deployed with different content; returns their deployment ids.
    static func threeBranches(_ label: String) async throws -> (CanopyInstance, SiteRepository, [String: String]) {
        let canopy = try CanopyInstance(label)
        let repo = try SiteRepository(in: canopy)
        try canopy.writeSite("site", sitesFile)
        try await canopy.start()
        try repo.commit("main")
        try repo.push("main")
        for branch in ["release", "staging"] {
            try repo.checkout(branch, create: true)
            try repo.edit("src/about.html", replacing: "<h1>About</h1>", with: "<h1>About \(branch)</h1>")
            try repo.commit(branch)
            try repo.push(branch)
            try repo.checkout("main")
        }
        var ids: [String: String] = [:]
        for (branch, host) in [
            ("main", "site.test"), ("release", "release.site.test"), ("staging", "staging.site.test"),
        ] {
            try await canopy.waitForContent(host, "<em id=\"branch\">\(branch)</em>")
            ids[branch] = try canopy.get(host).header("X-Canopy-Deployment")
        }
        return (canopy, repo, ids)
    }

    static func splitValue(_ setCookie: String?) -> Double? {
        guard let setCookie, let range = setCookie.range(of: "canopy-split=") else { return nil }
        return Double(setCookie[range.upperBound...].prefix { $0 != ";" })
    }

    @Test func aSplitIsWeightedStickyAndAWeightChangeMovesOnlyTheChangedSlice() async throws {
        let (canopy, _, ids) = try await Self.threeBranches("split")
        _ = try canopy.cli(["split", "site.test", "main=90", "release=10"])

        // 10,000 visitors without a cookie land within ±2 points of 90/10.
        let client = try KeepAliveClient(port: canopy.edgePort)
        var counts: [String: Int] = [:]
        var visitors: [(split: Double, deployment: String)] = []
        for _ in 0..<10_000 {
            let r = try client.get(host: "site.test")
            let deployment = r.headers["x-canopy-deployment"] ?? "?"
            counts[deployment, default: 0] += 1
            if visitors.count < 2_000, let split = Self.splitValue(r.headers["set-cookie"]) {
                visitors.append((split, deployment))
            }
        }
        let mainShare = Double(counts[ids["main"]!] ?? 0) / 10_000
        print(
            "split 90/10 over 10,000 cookie-less requests: main \(counts[ids["main"]!] ?? 0), release \(counts[ids["release"]!] ?? 0)"
        )
        #expect(abs(mainShare - 0.9) <= 0.02)
        #expect((counts[ids["main"]!] ?? 0) + (counts[ids["release"]!] ?? 0) == 10_000)
        #expect(visitors.count == 2_000)

        // A visitor with a cookie keeps its deployment on 1,000 requests.
        let visitor = visitors.first { $0.deployment == ids["release"] }!
        for _ in 0..<1_000 {
            let r = try client.get(host: "site.test", headers: ["Cookie": "canopy-split=\(visitor.split)"])
            #expect(r.headers["x-canopy-deployment"] == visitor.deployment)
            #expect(r.headers["set-cookie"] == nil)
        }

        // 90/10 → 80/20 moves only the visitors whose slice changed: [0.8, 0.9) from main to release.
        _ = try canopy.cli(["split", "site.test", "main=80", "release=20"])
        var moved = 0
        for v in visitors {
            let r = try client.get(host: "site.test", headers: ["Cookie": "canopy-split=\(v.split)"])
            let now = r.headers["x-canopy-deployment"]
            if now != v.deployment {
                moved += 1
                #expect(v.deployment == ids["main"] && now == ids["release"])
                #expect(v.split >= 0.8 && v.split < 0.9, "visitor \(v.split) moved")
            } else {
                #expect(!(v.split >= 0.8 && v.split < 0.9))
            }
        }
        print("80/20: \(moved) of \(visitors.count) visitors moved")

        // A header forces a target for testing; --clear restores the branch's own deployment.
        #expect(
            try canopy.get("site.test", headers: ["X-Canopy-Target": "release"]).header("X-Canopy-Deployment")
                == ids["release"])
        _ = try canopy.cli(["split", "site.test", "--clear"])
        #expect(try canopy.get("site.test").header("X-Canopy-Deployment") == ids["main"])
    }

    @Test func loadThroughASwapARollbackAndAWeightChangeHasNoErrorsAndNoStrayDeployment() async throws {
        let (canopy, repo, ids) = try await Self.threeBranches("load")
        // A second deployment of main, so that main has something to roll back to.
        try repo.edit("src/index.html", replacing: "Hello from branch", with: "Newer main on")
        try repo.commit("main 2")
        try repo.push("main")
        try await canopy.waitForContent("site.test", "Newer main on")
        let main2 = try canopy.get("site.test").header("X-Canopy-Deployment")!
        let hosts = ["site.test", "staging.site.test"]

        // What each hostname may serve, per state, from the server's own view.
        func targets() throws -> [String: Set<String>] {
            let json =
                try JSONSerialization.jsonObject(with: canopy.admin("/api/v1/hostnames").body) as? [[String: Any]] ?? []
            var map: [String: Set<String>] = [:]
            for h in json {
                let name = h["hostname"] as? String ?? ""
                map[name] = Set((h["targets"] as? [[String: Any]] ?? []).compactMap { $0["deployment"] as? String })
            }
            return map
        }
        let recorder = LoadRecorder()
        // Each state: when the command that made it began and returned, and what it routes.
        var states: [(began: Double, returned: Double, targets: [String: Set<String>])] = [(0, 0, try targets())]
        let threads = (0..<64).map { i in
            let thread = Thread {
                do {
                    let client = try KeepAliveClient(port: canopy.edgePort)
                    var n = 0
                    while !recorder.stopped {
                        let host = hosts[(i + n) % hosts.count]
                        n += 1
                        let start = recorder.now
                        do {
                            let r = try client.get(host: host, headers: ["Cookie": "canopy-split=0.\(i * 15 + 1)"])
                            recorder.record(
                                host: host, start: start, end: recorder.now, status: r.status,
                                deployment: r.headers["x-canopy-deployment"])
                        } catch {
                            recorder.fail("\(error)")
                            return
                        }
                    }
                } catch {
                    recorder.fail("\(error)")
                }
            }
            thread.start()
            return thread
        }
        _ = threads
        func step(_ arguments: [String]) async throws {
            try await Task.sleep(for: .milliseconds(700))
            let began = recorder.now
            let output = try canopy.cli(arguments)
            let returned = recorder.now
            print("\(arguments.joined(separator: " ")): \(output.split(separator: "\n").first ?? "")")
            states.append((began, returned, try targets()))
        }
        try await step(["swap", "site.test", "staging.site.test"])
        try await step(["rollback", "site/main"])
        try await step(["split", "site.test", "staging=50", "main=50"])
        try await Task.sleep(for: .milliseconds(700))
        recorder.stop()
        try await Task.sleep(for: .milliseconds(300))

        // Every response came from a deployment that was a target of its hostname while it was in flight.
        var stray = 0
        for r in recorder.responses {
            var allowed = Set<String>()
            for (i, state) in states.enumerated() {
                // State i may be in force from when its command began until the next command returned.
                let begins = state.began
                let ends = i + 1 < states.count ? states[i + 1].returned : .infinity
                if begins <= r.end && r.start <= ends { allowed.formUnion(state.targets[r.host] ?? []) }
            }
            if r.status != 200 || !allowed.contains(r.deployment ?? "") { stray += 1 }
        }
        print(
            "load through swap, rollback, weight change: \(recorder.responses.count) responses, \(recorder.failures.count) failed requests/connection errors, \(stray) from a deployment that was not a target"
        )
        #expect(recorder.failures.isEmpty, "\(recorder.failures.prefix(3))")
        #expect(stray == 0)
        #expect(recorder.responses.count > 1_000)
        // The changes did take effect: after the rollback, main serves its earlier deployment.
        #expect(
            try canopy.get("staging.site.test", headers: ["X-Canopy-Target": "main"]).header("X-Canopy-Deployment")
                != main2)
        // Unpinning after the rollback is a deploy, and says so before it happens (#14).
        let unpinned = try canopy.cli(["unpin", "site/main"])
        #expect(unpinned.contains("its newest deployment goes live now"), "\(unpinned)")
        #expect(unpinned.contains("site/main is unpinned and serves \(main2)"), "\(unpinned)")
        _ = ids
    }
}

/// Responses and failures of a multi-threaded load, behind one lock.
final class LoadRecorder: @unchecked Sendable {
    // @unchecked: every stored property is read and written under `lock`.
    struct Response {
        var host: String
        var start: Double
        var end: Double
        var status: Int
        var deployment: String?
    }

    private let lock = NSLock()
    private var _responses: [Response] = []
    private var _failures: [String] = []
    private var _stopped = false
    private let origin = Date()

    var now: Double { Date().timeIntervalSince(origin) }
    var stopped: Bool { lock.withLock { _stopped } }
    var responses: [Response] { lock.withLock { _responses } }
    var failures: [String] { lock.withLock { _failures } }

    func record(host: String, start: Double, end: Double, status: Int, deployment: String?) {
        lock.withLock {
            _responses.append(Response(host: host, start: start, end: end, status: status, deployment: deployment))
        }
    }

    func fail(_ message: String) {
        lock.withLock { _failures.append(message) }
    }

    func stop() {
        lock.withLock { _stopped = true }
    }
}
