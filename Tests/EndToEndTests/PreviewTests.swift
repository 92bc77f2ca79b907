import Foundation
import Testing

/// Preview environments and the branch lifecycle, end to end.
@Suite(.serialized)
struct PreviewTests {
    static let sitesFile = """
        repository: ../repos/site.git
        commitDomain: "{commit}.{site}.commits.site.test"
        branches:
          main: { domains: [site.test] }
        previews:
          - branches: "feature/**"
            domain: "{branch}.preview.site.test"
          - branches: "secret/*"
            domain: "{branch}.private.site.test"
            password: "team:s3cret"
        pullRequests:
          domain: "pr-{number}.preview.site.test"
        """

    static func started(
        _ label: String, sites: String = sitesFile, extra: [String] = []
    ) async throws -> (CanopyInstance, SiteRepository) {
        let canopy = try CanopyInstance(label)
        let repo = try SiteRepository(in: canopy)
        try canopy.writeSite("site", sites)
        try await canopy.start(extraArguments: extra)
        try repo.commit("main")
        try repo.push("main")
        try await canopy.waitForContent("site.test", "<em id=\"branch\">main</em>")
        return (canopy, repo)
    }

    @Test func previewsGetLabelsNoindexPasswordsAndPullRequestHostnames() async throws {
        let (canopy, repo) = try await Self.started("previews")
        // A 70-character branch name gets a valid DNS label (≤ 63, with a hash), the same every time.
        let long = "feature/" + String(repeating: "very-long-branch-name-", count: 3) + "end"
        #expect(long.count >= 70)
        try repo.checkout(long, create: true)
        try repo.commit("long")
        try repo.push(long)
        var label = ""
        try await waitUntil("the long branch's preview") {
            let hosts =
                try JSONSerialization.jsonObject(with: canopy.admin("/api/v1/hostnames").body) as? [[String: Any]] ?? []
            guard
                let host = hosts.compactMap({ $0["hostname"] as? String }).first(where: {
                    $0.hasSuffix(".preview.site.test") && $0.hasPrefix("feature-very")
                })
            else { return false }
            label = String(host.dropLast(".preview.site.test".count))
            return true
        }
        #expect(label.count <= 63)
        #expect(label.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "-" })
        #expect(!label.hasPrefix("-") && !label.hasSuffix("-"))
        try await canopy.waitForContent("\(label).preview.site.test", long)
        // Previews say noindex; explicit branches do not.
        #expect(try canopy.get("\(label).preview.site.test").header("X-Robots-Tag") == "noindex")
        #expect(try canopy.get("site.test").header("X-Robots-Tag") == nil)

        // A password-protected pattern.
        try repo.checkout("secret/plans", create: true)
        try repo.commit("secret")
        try repo.push("secret/plans")
        try await waitUntil("the protected preview") { try canopy.get("secret-plans.private.site.test").status == 401 }
        let denied = try canopy.get("secret-plans.private.site.test")
        #expect(denied.header("WWW-Authenticate")?.hasPrefix("Basic") == true)
        let auth = "Basic " + Data("team:s3cret".utf8).base64EncodedString()
        let allowed = try canopy.get("secret-plans.private.site.test", headers: ["Authorization": auth])
        #expect(allowed.status == 200)
        #expect(allowed.text.contains("secret/plans"))
        #expect(allowed.header("Cache-Control")?.contains("private") == true)

        // A pull-request ref maps to pr-<n>.
        try repo.checkout("main")
        try repo.edit("src/index.html", replacing: "Hello from branch", with: "Pull request on")
        try repo.commit("PR")
        try repo.git("push", "-q", "origin", "HEAD:refs/pull/7/head")
        try await canopy.waitForContent("pr-7.preview.site.test", "Pull request on")
    }

    @Test func perCommitURLsKeepServingAfterNewerPushesAndSkipCIIsHonoured() async throws {
        let (canopy, repo) = try await Self.started("commits")
        let first = try repo.git("rev-parse", "HEAD").trimmingCharacters(in: .whitespacesAndNewlines)
        let firstHost = "\(first.prefix(7)).site.commits.site.test"
        try await canopy.waitForContent(firstHost, "Hello from branch")
        for n in 2...3 {
            try repo.edit("src/index.html", replacing: n == 2 ? "Hello from branch" : "Push 2 on", with: "Push \(n) on")
            try repo.commit("push \(n)")
            try repo.push("main")
            try await canopy.waitForContent("site.test", "Push \(n) on")
        }
        // The old per-commit URL still serves the first build.
        let old = try canopy.get(firstHost)
        #expect(old.status == 200)
        #expect(old.text.contains("Hello from branch"))
        #expect(old.header("X-Robots-Tag") == "noindex")

        // [skip ci] does not build.
        try repo.edit("src/index.html", replacing: "Push 3 on", with: "Skipped on")
        let skipped = try repo.commit("docs only [skip ci]")
        try repo.push("main")
        try await Task.sleep(for: .seconds(4))
        #expect(try canopy.builds().contains { $0["commit"] as? String == skipped } == false)
        #expect(try canopy.get("site.test").text.contains("Push 3 on"))
    }

    @Test func aDeletedBranchsDeploymentsAreCollectedAndSharedBlobsStay() async throws {
        let sites = Self.sitesFile.replacingOccurrences(
            of: "repository: ../repos/site.git", with: "repository: ../repos/site.git\ncleanupAfter: 0s\nretention: 2")
        let (canopy, repo) = try await Self.started("gc", sites: sites)
        try repo.checkout("feature/gone", create: true)
        try repo.write("src/only-here.txt", "unique to the preview\n")
        let commit = try repo.commit("preview with its own file")
        try repo.push("feature/gone")
        let commitHost = "\(commit.prefix(7)).site.commits.site.test"
        try await canopy.waitForContent(commitHost, "unique to the preview", path: "/only-here.txt")
        let blobs = canopy.data + "/store/blobs"
        func blobCount() -> Int { (FileManager.default.enumerator(atPath: blobs)?.allObjects.count) ?? 0 }
        let before = blobCount()

        try repo.deleteRemoteBranch("feature/gone")
        try await waitUntil("the preview's per-commit URL to stop serving") { try canopy.get(commitHost).status == 404 }
        let deployments =
            try JSONSerialization.jsonObject(
                with: canopy.admin("/api/v1/sites/site/branches/feature%2Fgone/deployments").body) as? [[String: Any]]
        #expect(deployments?.isEmpty == true)
        #expect(blobCount() < before)
        // main shares most blobs with the preview: it still serves every file.
        let main = try canopy.get("site.test")
        #expect(main.status == 200)
        let css = main.text.firstMatch(of: /href="(\/assets\/style\.[0-9a-f]+\.css)"/)?.1
        #expect(try canopy.get("site.test", String(css ?? "/missing")).status == 200)

        // Retention keeps the last two deployments of a branch.
        try repo.checkout("main")
        for n in 1...3 {
            try repo.write("src/n.txt", "\(n)\n")
            try repo.commit("main \(n)")
            try repo.push("main")
            try await canopy.waitForContent("site.test", "\(n)", path: "/n.txt")
        }
        // Retention runs just after the new deployment goes live.
        try await waitUntil("retention to keep the last two deployments of main") {
            let kept =
                try JSONSerialization.jsonObject(
                    with: canopy.admin("/api/v1/sites/site/branches/main/deployments").body) as? [[String: Any]]
            return kept?.count == 2
        }
    }

    @Test func aRemoteRepositoryIsFollowedAndTheWebhookChecksItsToken() async throws {
        let canopy = try CanopyInstance("remote")
        let remote = canopy.root + "/remote/site.git"
        try sh(["git", "init", "-q", "--bare", "-b", "main", remote])
        let work = canopy.root + "/work"
        try sh(["cp", "-R", packageRoot + "/amplify-sample/.", work])
        try sh(["git", "-C", work, "init", "-q", "-b", "main"])
        try sh(["git", "-C", work, "add", "-A"])
        try sh(["git", "-C", work, "commit", "-qm", "remote"])
        try canopy.writeSite(
            "site",
            """
            repository: file://\(remote)
            webhookToken: hook-secret
            branches:
              main: { domains: [site.test] }
            """)
        // Polling every 10 minutes: only the webhook can make this deploy quickly.
        try await canopy.start(extraArguments: ["--poll", "600"])
        try sh(["git", "-C", work, "push", "-q", remote, "main"])

        let wrong = try TestHTTP.request(
            "POST", port: canopy.adminPort, path: "/hooks/site?token=nope", host: "127.0.0.1", body: Data("{}".utf8))
        #expect(wrong.status == 401)
        try await Task.sleep(for: .seconds(3))
        #expect(try canopy.get("site.test").status == 404)

        let payload = #"{"ref":"refs/heads/main","repository":{"full_name":"team/site"}}"#
        let right = try TestHTTP.request(
            "POST", port: canopy.adminPort, path: "/hooks/site?token=hook-secret", host: "127.0.0.1",
            headers: ["X-GitHub-Event": "push", "Content-Type": "application/json"], body: Data(payload.utf8))
        #expect(right.status == 202)
        try await canopy.waitForContent("site.test", "Hello from branch")
    }

    @Test func twentyBranchesPushedAtOnceAllEndAtTheirNewestCommit() async throws {
        let sites = """
            repository: ../repos/site.git
            branches:
              main: { domains: [site.test] }
            previews:
              - branches: "load/*"
                domain: "{branch}.load.site.test"
            """
        let (canopy, repo) = try await Self.started("stress", sites: sites, extra: ["--builds", "2"])
        try repo.edit(
            "amplify.yml", replacing: "        - bash scripts/build.sh src dist",
            with: "        - sleep 1\n        - bash scripts/build.sh src dist")
        try repo.commit("slow build")
        var newest: [String: String] = [:]
        var pushedAt: [String: Date] = [:]
        for round in 1...2 {
            for i in 1...20 {
                let branch = String(format: "load/b%02d", i)
                try repo.git("checkout", "-q", "-B", branch, "main")
                try repo.write("src/round.txt", "\(branch) round \(round)\n")
                newest[branch] = try repo.commit("\(branch) round \(round)")
            }
            // All twenty branches in one push.
            let refspecs = (1...20).map { String(format: "load/b%02d:load/b%02d", $0, $0) }
            try sh(["git", "-C", repo.work, "push", "-q", "-f", "origin"] + refspecs)
            for i in 1...20 { pushedAt[String(format: "load/b%02d", i)] = Date() }
        }
        for i in 1...20 {
            let branch = String(format: "load/b%02d", i)
            try await waitForBuild(canopy, commit: newest[branch]!, status: "succeeded", timeout: .seconds(300))
            try await canopy.waitForContent(
                String(format: "load-b%02d.load.site.test", i), "\(branch) round 2", path: "/round.txt",
                timeout: .seconds(300))
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        func date(_ value: Any?) -> Date? {
            guard let text = value as? String else { return nil }
            return formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text)
        }
        let builds = try canopy.builds().filter { ($0["branch"] as? String)?.hasPrefix("load/") == true }
        // Never more than two at once.
        var events: [(Date, Int)] = []
        for b in builds {
            if let s = date(b["startedAt"]), let f = date(b["finishedAt"]) { events += [(s, 1), (f, -1)] }
        }
        var running = 0
        var peak = 0
        for e in events.sorted(by: { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }) {
            running += e.1
            peak = max(peak, running)
        }
        print("20-branch stress: \(builds.count) builds, peak concurrency \(peak) (limit 2)")
        print("branch      queue-wait  build-time  push-to-live  status")
        for b in builds.sorted(by: { ($0["branch"] as? String ?? "") < ($1["branch"] as? String ?? "") }) {
            let branch = b["branch"] as? String ?? ""
            let q = date(b["queuedAt"]), s = date(b["startedAt"]), f = date(b["finishedAt"])
            let wait = s.flatMap { s in q.map { s.timeIntervalSince($0) } } ?? -1
            let time = f.flatMap { f in s.map { f.timeIntervalSince($0) } } ?? -1
            let live =
                b["commit"] as? String == newest[branch]
                ? (f.flatMap { f in pushedAt[branch].map { f.timeIntervalSince($0) } } ?? -1) : -1
            let liveText = live >= 0 ? String(format: "%.2fs", live) : "-"
            print(
                branch.padding(toLength: 10, withPad: " ", startingAt: 0)
                    + String(format: "  %8.2fs  %8.2fs  ", wait, time)
                    + liveText.padding(toLength: 12, withPad: " ", startingAt: 0) + "  "
                    + (b["status"] as? String ?? ""))
        }
        #expect(peak <= 2)
        #expect(peak >= 1)
        for (branch, commit) in newest {
            let done = builds.first { $0["branch"] as? String == branch && $0["commit"] as? String == commit }
            #expect(done?["status"] as? String == "succeeded", "\(branch)")
        }
    }
}
