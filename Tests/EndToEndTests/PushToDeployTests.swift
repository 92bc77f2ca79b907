import Foundation
import Testing

/// Push to deploy, end to end: the real binary, real bare repositories, real `git push`, real HTTP.
@Suite(.serialized)
struct PushToDeployTests {
    static let sitesFile = """
        repository: ../repos/site.git
        env: { SITE_TITLE: E2E }
        branches:
          main: { domains: [site.test, www.site.test] }
          dev: { domains: [dev.site.test] }
        previews:
          - branches: "feature/*"
            domain: "{branch}.preview.site.test"
        """

    /// A server with the sample site's repository, `main` pushed and live.
    static func deployedMain(_ label: String) async throws -> (CanopyInstance, SiteRepository) {
        let canopy = try CanopyInstance(label)
        let repo = try SiteRepository(in: canopy)
        try canopy.writeSite("site", sitesFile)
        try await canopy.start()
        try repo.commit("Initial site")
        try repo.push("main")
        try await canopy.waitForContent("site.test", "Hello from branch <em id=\"branch\">main</em>")
        return (canopy, repo)
    }

    @Test func pushDeploysAndASecondPushReplacesTheContent() async throws {
        let (canopy, repo) = try await Self.deployedMain("push")
        let first = try canopy.get("site.test")
        #expect(first.header("X-Canopy-Deployment")?.isEmpty == false)
        #expect(first.header("Content-Type")?.hasPrefix("text/html") == true)
        // Both hostnames of main serve it; the fingerprinted stylesheet is there too.
        #expect(try canopy.get("www.site.test").text.contains("main"))
        let css = first.text.firstMatch(of: /href="(\/assets\/style\.[0-9a-f]+\.css)"/)?.1
        #expect(css != nil)
        if let css { #expect(try canopy.get("site.test", String(css)).status == 200) }

        try repo.edit("src/index.html", replacing: "Hello from branch", with: "Second push on")
        let second = try repo.commit("Second")
        try repo.push("main")
        try await canopy.waitForContent("site.test", "Second push on")
        let after = try canopy.get("site.test")
        #expect(after.text.contains(String(second.prefix(7))))
        #expect(after.header("X-Canopy-Deployment") != first.header("X-Canopy-Deployment"))
    }

    @Test func branchesAndPreviewsServeAtTheirHostnames() async throws {
        let (canopy, repo) = try await Self.deployedMain("branches")
        try repo.checkout("dev", create: true)
        try repo.edit("src/index.html", replacing: "Hello from branch", with: "Dev greets from branch")
        try repo.commit("Dev")
        try repo.push("dev")
        try repo.checkout("feature/Login_Page", create: true)
        try repo.commit("Preview")
        try repo.push("feature/Login_Page")
        try await canopy.waitForContent("dev.site.test", "Dev greets from branch <em id=\"branch\">dev</em>")
        try await canopy.waitForContent("feature-login-page.preview.site.test", "feature/Login_Page")
        // main is untouched, an unknown host gets Canopy's own 404, never another site.
        #expect(try canopy.get("site.test").text.contains("Hello from branch <em id=\"branch\">main</em>"))
        let unknown = try canopy.get("nope.site.test")
        #expect(unknown.status == 404)
        #expect(!unknown.text.contains("Hello"))

        // Deleting the preview's branch stops it serving within seconds; main keeps serving.
        try repo.deleteRemoteBranch("feature/Login_Page")
        try await waitUntil("the deleted branch's preview to stop serving", timeout: .seconds(30)) {
            try canopy.get("feature-login-page.preview.site.test").status == 404
        }
        #expect(try canopy.get("site.test").status == 200)
    }

    @Test func aFailingBuildOrTestPhaseKeepsThePreviousDeploymentServing() async throws {
        let (canopy, repo) = try await Self.deployedMain("failing")
        let live = try canopy.get("site.test").header("X-Canopy-Deployment")

        // A build command that fails.
        try repo.edit("amplify.yml", replacing: "        - bash scripts/build.sh src dist", with: "        - exit 3")
        try repo.edit("src/index.html", replacing: "Hello from branch", with: "Broken build")
        let broken = try repo.commit("Broken build")
        try repo.push("main")
        try await waitForBuild(canopy, commit: broken, status: "failed")

        // A test phase that fails (the sample's check.sh honours CANOPY_SAMPLE_FAIL_TESTS).
        try repo.git("checkout", "-q", "HEAD~1", "--", "amplify.yml")
        try repo.edit(
            "amplify.yml", replacing: "bash scripts/check.sh dist",
            with: "CANOPY_SAMPLE_FAIL_TESTS=1 bash scripts/check.sh dist")
        try repo.edit("src/index.html", replacing: "Broken build", with: "Failing tests")
        let failingTests = try repo.commit("Failing tests")
        try repo.push("main")
        let build = try await waitForBuild(canopy, commit: failingTests, status: "failed")
        #expect((build["error"] as? String)?.contains("check.sh") == true)

        // Neither went live.
        let now = try canopy.get("site.test")
        #expect(now.header("X-Canopy-Deployment") == live)
        #expect(now.text.contains("Hello from branch"))
        #expect(!now.text.contains("Broken build") && !now.text.contains("Failing tests"))
    }

    @Test func aMalformedAmplifyYmlFailsWithItsLineAndKeepsServing() async throws {
        let (canopy, repo) = try await Self.deployedMain("malformed")
        try repo.write("amplify.yml", "version: 1\nfrontend:\n  phases:\n    build:\n      commands: [unclosed\n")
        let bad = try repo.commit("Malformed spec")
        try repo.push("main")
        let build = try await waitForBuild(canopy, commit: bad, status: "failed")
        let error = build["error"] as? String ?? ""
        #expect(error.contains("amplify.yml:"), "error was: \(error)")
        let log = try buildLog(canopy, build)
        #expect(log.contains("amplify.yml:"))
        #expect(try canopy.get("site.test").text.contains("Hello from branch"))
    }

    @Test func aSymlinkOutOfTheArtifactsIsRefused() async throws {
        let (canopy, repo) = try await Self.deployedMain("symlink")
        try repo.edit(
            "amplify.yml", replacing: "        - bash scripts/build.sh src dist",
            with: "        - bash scripts/build.sh src dist\n        - ln -s /etc/passwd dist/passwd.txt")
        let escaping = try repo.commit("Symlink escape")
        try repo.push("main")
        let build = try await waitForBuild(canopy, commit: escaping, status: "failed")
        #expect((build["error"] as? String)?.contains("passwd") == true)
        let passwd = try canopy.get("site.test", "/passwd.txt")
        #expect(passwd.status == 404)
        #expect(!passwd.text.contains("root:"))
    }

    /// `--build-user`: the build's commands run as a uid of their own (from `--build-uids`, for
    /// `nobody`) and cannot look into the data folder (every site's deployments, the state
    /// database), even where its parent folders let them pass.
    @Test(.enabled(if: getuid() == 0)) func withABuildUserTheBuildCannotReachTheDataFolder() async throws {
        let canopy = try CanopyInstance("builduser")
        let repo = try SiteRepository(in: canopy)
        try canopy.writeSite("site", Self.sitesFile)
        try await canopy.start(extraArguments: ["--build-user", "nobody"])
        let range = canopy.buildUIDs
        #expect(
            canopy.serverLog.contains(
                "builds run as uids \(range.lowerBound)-\(range.upperBound) (one per build, for nobody)"))
        let probes = [
            "        - bash scripts/build.sh src dist",
            "        - id -u > dist/whoami.txt",
            "        - if ls \(canopy.data)/store; then echo LEAKED > dist/leak.txt; fi",
            "        - if head -c 16 \(canopy.data)/state.sqlite; then echo LEAKED > dist/leak.txt; fi",
        ]
        try repo.edit("amplify.yml", replacing: probes[0], with: probes.joined(separator: "\n"))
        let commit = try repo.commit("Build as nobody")
        try repo.push("main")
        let build = try await waitForBuild(canopy, commit: commit, status: "succeeded")
        let id = try #require(build["id"] as? String)
        let uid = try canopy.get("site.test", "/whoami.txt").text.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(UInt32(uid).map { range.contains($0) } == true, "uid \(uid)")
        #expect(try canopy.get("site.test", "/leak.txt").status == 404)
        #expect(try canopy.get("site.test").text.contains("Hello from branch"))
        let log = try buildLog(canopy, build)
        #expect(log.contains("Running as user nobody+\(uid) (uid \(uid))"))
        #expect(log.contains("Permission denied"))
        // The checkout went to the build folder, and is gone with the build.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory() + "canopy-builds")
        #expect(!leftovers.contains { $0.hasPrefix(id + "-") })
    }

    @Test(.enabled(if: getuid() == 0)) func aCheckoutLeftByAKilledServerIsRemovedOnRestart() async throws {
        let canopy = try CanopyInstance("builduser-kill")
        let repo = try SiteRepository(in: canopy)
        try canopy.writeSite("site", Self.sitesFile)
        try await canopy.start(extraArguments: ["--build-user", "nobody"])
        let step = "        - bash scripts/build.sh src dist"
        try repo.edit("amplify.yml", replacing: step, with: "        - sleep 20\n" + step)
        let commit = try repo.commit("A slow build")
        try repo.push("main")
        let build = try await waitForBuild(canopy, commit: commit, status: "running")
        let id = try #require(build["id"] as? String)
        let folder = NSTemporaryDirectory() + "canopy-builds"
        let checkouts = {
            ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasPrefix(id + "-") }
        }
        try await waitUntil("the build's checkout in \(folder)") { !checkouts().isEmpty }
        canopy.kill9()
        #expect(!checkouts().isEmpty)
        try await canopy.start(extraArguments: ["--build-user", "nobody"])
        try await waitUntil("the interrupted build's checkout to be removed") { checkouts().isEmpty }
    }

    @Test func anUnknownBuildUserStopsTheServerWithAMessage() throws {
        let canopy = try CanopyInstance("nobuilduser")
        let output = try sh(
            [
                "timeout", "30", canopyBinary, "serve", "--sites", canopy.sites, "--data", canopy.data, "--listen",
                "127.0.0.1:0",
                "--admin", "127.0.0.1:0", "--build-user", "no-such-canopy-user",
            ], allowFailure: true)
        #expect(output.contains("no user `no-such-canopy-user`"), "\(output)")
        #expect(!FileManager.default.fileExists(atPath: canopy.data + "/edge.address"))
    }

    /// The server reads amplify.yml and the rule files itself: a link there must not make it read
    /// (and quote in a parse error) a file from elsewhere on the machine.
    @Test func aRuleFileOrAmplifyYmlThatIsALinkFailsTheBuild() async throws {
        let (canopy, repo) = try await Self.deployedMain("rulelink")
        try FileManager.default.createSymbolicLink(
            atPath: repo.work + "/customHttp.yml", withDestinationPath: "/etc/passwd")
        let linked = try repo.commit("customHttp.yml as a link")
        try repo.push("main")
        let build = try await waitForBuild(canopy, commit: linked, status: "failed")
        let error = build["error"] as? String ?? ""
        #expect(error.contains("customHttp.yml is a symbolic link"), "error was: \(error)")
        let log = try buildLog(canopy, build)
        #expect(!log.contains("root:"))

        try FileManager.default.removeItem(atPath: repo.work + "/customHttp.yml")
        try FileManager.default.removeItem(atPath: repo.work + "/amplify.yml")
        try FileManager.default.createSymbolicLink(
            atPath: repo.work + "/amplify.yml", withDestinationPath: "/etc/passwd")
        let spec = try repo.commit("amplify.yml as a link")
        try repo.push("main")
        let specBuild = try await waitForBuild(canopy, commit: spec, status: "failed")
        #expect((specBuild["error"] as? String)?.contains("amplify.yml is a symbolic link") == true)
        #expect(try canopy.get("site.test").text.contains("Hello from branch"))
    }

    @Test func restartAfterKill9ServesTheSameWithoutRebuilding() async throws {
        let (canopy, repo) = try await Self.deployedMain("restart")
        try repo.checkout("dev", create: true)
        try repo.commit("Dev")
        try repo.push("dev")
        try await canopy.waitForContent("dev.site.test", "<em id=\"branch\">dev</em>")
        let main = try canopy.get("site.test")
        let dev = try canopy.get("dev.site.test")
        let buildsBefore = try canopy.builds().count

        canopy.kill9()
        try await canopy.start()
        let mainAfter = try canopy.get("site.test")
        let devAfter = try canopy.get("dev.site.test")
        #expect(mainAfter.status == 200 && devAfter.status == 200)
        #expect(mainAfter.header("X-Canopy-Deployment") == main.header("X-Canopy-Deployment"))
        #expect(devAfter.header("X-Canopy-Deployment") == dev.header("X-Canopy-Deployment"))
        #expect(mainAfter.body == main.body)
        // A couple of poll intervals later still no new build.
        try await Task.sleep(for: .seconds(3))
        #expect(try canopy.builds().count == buildsBefore)
    }

    @Test func sigtermStopsTheServerAndARestartServesTheSame() async throws {
        let (canopy, _) = try await Self.deployedMain("sigterm")
        let before = try canopy.get("site.test")
        // An idle keep-alive connection must not hold the shutdown either.
        let idle = try connectLoopback(port: canopy.edgePort)
        defer { close(idle) }
        let started = ContinuousClock.now
        let status = try await canopy.stop()
        #expect(status == 0, "canopy serve did not exit within 20 s of SIGTERM:\n\(canopy.serverLog)")
        #expect(ContinuousClock.now - started < .seconds(15))
        #expect(canopy.serverLog.contains("stopped"))
        try await canopy.start()
        let after = try canopy.get("site.test")
        #expect(after.header("X-Canopy-Deployment") == before.header("X-Canopy-Deployment"))
    }

    @Test func rapidPushesEndAtTheNewestCommit() async throws {
        let (canopy, repo) = try await Self.deployedMain("rapid")
        // Slow the build down so that newer pushes arrive while older ones build.
        try repo.edit(
            "amplify.yml", replacing: "        - bash scripts/build.sh src dist",
            with: "        - sleep 1\n        - bash scripts/build.sh src dist")
        var last = ""
        for i in 1...4 {
            try repo.edit(
                "src/index.html", replacing: i == 1 ? "Hello from branch" : "Version \(i - 1) of",
                with: "Version \(i) of")
            last = try repo.commit("Version \(i)")
            try repo.push("main")
        }
        try await canopy.waitForContent("site.test", "Version 4 of")
        try await waitForBuild(canopy, commit: last, status: "succeeded")
        // Nothing older goes live afterwards.
        try await Task.sleep(for: .seconds(3))
        #expect(try canopy.get("site.test").text.contains("Version 4 of"))
        let builds = try canopy.builds(branch: "main")
        let statuses = builds.map { "\(($0["commit"] as? String ?? "").prefix(7)) \($0["status"] as? String ?? "")" }
        #expect(
            builds.allSatisfy { $0["status"] as? String != "running" && $0["status"] as? String != "queued" },
            "\(statuses)\n\(canopy.serverLogTail)")
    }

    @Test func sitesFilesAreReloadedAndABadOneIsRefused() async throws {
        let (canopy, _) = try await Self.deployedMain("reload")
        // A new hostname for main is picked up while running.
        try canopy.writeSite("site", Self.sitesFile.replacingOccurrences(of: "www.site.test", with: "new.site.test"))
        try await canopy.waitForContent("new.site.test", "Hello from branch")
        // A broken file is refused with its line; the configuration in force stays.
        try canopy.writeSite("site", "repository: ../repos/site.git\nbranches:\n  main: { domains: [site.test\n")
        try await waitUntil("the refused Sites file to be reported") {
            try canopy.admin("/api/v1/status").text.contains("site.yml:")
        }
        #expect(try canopy.get("new.site.test").status == 200)
        #expect(try canopy.get("site.test").status == 200)
    }

    /// Amplify rebuilds a branch when its environment variables change; so does Canopy when the
    /// Sites file changes a branch's env, without a push (#14).
    @Test func aChangedEnvInTheSitesFileRebuildsTheBranch() async throws {
        let (canopy, _) = try await Self.deployedMain("envchange")
        #expect(try canopy.get("site.test").text.contains("E2E"))
        let before = try canopy.builds(branch: "main").count
        try canopy.writeSite(
            "site", Self.sitesFile.replacingOccurrences(of: "SITE_TITLE: E2E", with: "SITE_TITLE: Renamed Docs"))
        try await canopy.waitForContent("site.test", "Renamed Docs")
        #expect(try canopy.builds(branch: "main").count == before + 1, "one new build of main, from the same commit")
        #expect(try canopy.builds(branch: "dev").isEmpty, "dev has no commit yet: nothing to rebuild")
        // A change that no build reads (a new hostname) builds nothing.
        try canopy.writeSite(
            "site",
            Self.sitesFile.replacingOccurrences(of: "SITE_TITLE: E2E", with: "SITE_TITLE: Renamed Docs")
                .replacingOccurrences(of: "www.site.test", with: "new.site.test"))
        try await canopy.waitForContent("new.site.test", "Renamed Docs")
        try await Task.sleep(for: .seconds(2))
        #expect(try canopy.builds(branch: "main").count == before + 1)
    }

    @Test func theStatusCommandShowsHostnamesAndJSON() async throws {
        let (canopy, _) = try await Self.deployedMain("status")
        let table = try canopy.cli(["status"])
        #expect(table.contains("HOSTNAME"))
        #expect(table.contains("site.test"))
        #expect(table.contains("main"))
        let json = try canopy.cli(["status", "--json"])
        let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        #expect((parsed?["hostnames"] as? [[String: Any]])?.isEmpty == false)
    }
}

/// Waits for the newest build of `commit` to reach `status`; returns it.
@discardableResult
func waitForBuild(
    _ canopy: CanopyInstance, commit: String, status: String, timeout: Duration = .seconds(120)
) async throws
    -> [String: Any]
{
    var found: [String: Any] = [:]
    try await waitUntil("a build of \(commit.prefix(7)) to be \(status)\n\(canopy.serverLogTail)", timeout: timeout) {
        guard let build = try canopy.builds().first(where: { $0["commit"] as? String == commit }) else { return false }
        found = build
        return build["status"] as? String == status
    }
    return found
}

/// A build's whole log, from the admin API.
func buildLog(_ canopy: CanopyInstance, _ build: [String: Any]) throws -> String {
    try canopy.admin("/api/v1/builds/\(build["id"] as? String ?? "")/log").text
}
