import Foundation
import Testing

/// Progressive rollouts with health gates and automatic rollback on the new deployment's error rate.
@Suite(.serialized)
struct RolloutTests {
    /// The canary step is long enough (8 s) that a test polling through the CLI on a loaded machine
    /// (each call a process) sees it at 50% before it moves on.
    static let sitesFile = """
        repository: ../repos/site.git
        branches:
          main:
            domains: [site.test]
            rollout: canary 50% 8s
            health: [/healthz.html]
            maxErrorRate: 10%
        """

    static func start(_ label: String) async throws -> (CanopyInstance, SiteRepository, String) {
        let canopy = try CanopyInstance(label)
        let repo = try SiteRepository(in: canopy)
        try canopy.writeSite("site", sitesFile)
        try await canopy.start()
        try repo.write("src/healthz.html", "ok\n")
        try repo.commit("first, healthy")
        try repo.push("main")
        // The first deployment has no baseline: once healthy it takes all traffic.
        try await canopy.waitForContent("site.test", "Hello from branch")
        return (canopy, repo, try canopy.get("site.test").header("X-Canopy-Deployment")!)
    }

    func rollout(_ canopy: CanopyInstance) throws -> [String: Any] {
        let out = try canopy.cli(["rollout", "status", "site.test", "--json"])
        return (try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]) ?? [:]
    }

    @Test func aDeploymentFailingItsHealthPathNeverTakesTraffic() async throws {
        let (canopy, repo, first) = try await Self.start("health")
        try FileManager.default.removeItem(atPath: repo.work + "/src/healthz.html")
        try repo.edit("src/index.html", replacing: "Hello from branch", with: "Unhealthy on")
        let bad = try repo.commit("no health page")
        try repo.push("main")
        try await waitForBuild(canopy, commit: bad, status: "succeeded")
        var seen = Set<String>()
        try await waitUntil("the rollout to be rolled back") {
            seen.insert(try canopy.get("site.test").header("X-Canopy-Deployment") ?? "")
            return try rollout(canopy)["status"] as? String == "rolled-back"
        }
        let r = try rollout(canopy)
        print("rollout of \(r["toDeployment"] ?? "?"): \(r["status"] ?? "?") — \(r["message"] ?? "")")
        #expect((r["message"] as? String)?.contains("/healthz.html") == true)
        #expect(r["percent"] as? Int == 0)
        for _ in 0..<50 { seen.insert(try canopy.get("site.test").header("X-Canopy-Deployment") ?? "") }
        #expect(seen == [first])
    }

    @Test func aCanaryThatServesErrorsUnderLoadIsRolledBackAutomatically() async throws {
        let (canopy, repo, first) = try await Self.start("errors")
        // Healthy by its health path, but the home page is gone: visitors get 404.
        try FileManager.default.removeItem(atPath: repo.work + "/src/index.html")
        let bad = try repo.commit("lose the home page")
        try repo.push("main")
        try await waitForBuild(canopy, commit: bad, status: "succeeded")
        try await waitUntil("the canary to take traffic") { try rollout(canopy)["status"] as? String == "running" }
        let startedAt = Date()
        var canaryHits = 0
        var rolledBackAt: Date?
        let client = try KeepAliveClient(port: canopy.edgePort)
        for i in 0..<4000 {
            let r = try client.get(host: "site.test", headers: ["Cookie": "canopy-split=0.\(1000 + (i * 7919) % 9000)"])
            if r.headers["x-canopy-deployment"] != first { canaryHits += 1 }
            if i % 50 == 0, try rollout(canopy)["status"] as? String == "rolled-back" {
                rolledBackAt = Date()
                break
            }
        }
        let r = try rollout(canopy)
        print(
            "canary serving 404s: rolled back after \(String(format: "%.2f", (rolledBackAt ?? Date()).timeIntervalSince(startedAt))) s and \(canaryHits) canary responses — \(r["message"] ?? "")"
        )
        #expect(r["status"] as? String == "rolled-back")
        #expect((r["message"] as? String)?.contains("error rate") == true)
        // After the rollback every visitor is back on the first deployment.
        for i in 0..<200 {
            let after = try client.get(host: "site.test", headers: ["Cookie": "canopy-split=0.\(1000 + i * 37)"])
            #expect(after.headers["x-canopy-deployment"] == first)
        }
    }

    @Test func aHealthyCanaryTakesHalfThenAllAndSurvivesARestart() async throws {
        let (canopy, repo, first) = try await Self.start("canary")
        try repo.edit("src/index.html", replacing: "Hello from branch", with: "Canary on")
        let next = try repo.commit("canary")
        try repo.push("main")
        try await waitForBuild(canopy, commit: next, status: "succeeded")
        try await waitUntil("the canary to take 50%") {
            let r = try rollout(canopy)
            return r["status"] as? String == "running" && r["percent"] as? Int == 50
        }
        let low = try canopy.get("site.test", headers: ["Cookie": "canopy-split=0.2"]).header("X-Canopy-Deployment")
        let high = try canopy.get("site.test", headers: ["Cookie": "canopy-split=0.8"]).header("X-Canopy-Deployment")
        #expect(Set([low, high]).count == 2)
        #expect([low, high].contains(first))
        // Pause, restart (kill -9), and the rollout is still paused at 50%.
        _ = try canopy.cli(["rollout", "pause", "site.test"])
        canopy.kill9()
        try await canopy.start()
        var r = try rollout(canopy)
        #expect(r["status"] as? String == "paused")
        #expect(r["percent"] as? Int == 50)
        _ = try canopy.cli(["rollout", "resume", "site.test"])
        try await waitUntil("the canary to complete", timeout: .seconds(60)) {
            try rollout(canopy)["status"] as? String == "completed"
        }
        r = try rollout(canopy)
        #expect(try canopy.get("site.test", headers: ["Cookie": "canopy-split=0.8"]).text.contains("Canary on"))
        #expect(try canopy.get("site.test", headers: ["Cookie": "canopy-split=0.2"]).text.contains("Canary on"))
    }
}
