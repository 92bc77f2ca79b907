import Foundation
import Testing

/// `canopy-rules-test.yml` (Canopy's own; no host has one): the build runs it against the new
/// deployment before activating it, so a broken redirect never goes live; `canopy rules test`
/// runs the same file against a folder.
@Suite(.serialized)
struct RulesTestEndToEndTests {
    static let tests = """
        - request: /old-page
          status: 301
          location: /about
        - request: /about
          status: 200
          body_contains: '<h1>About</h1>'
        - request: /nowhere
          status: 404
        """

    @Test func aFailingRulesTestKeepsTheDeploymentFromGoingLive() async throws {
        let (canopy, repo) = try await PushToDeployTests.deployedMain("rulestest")
        // Netlify's `_redirects` syntax (docs.netlify.com/manage/routing/redirects/overview): default 301.
        try repo.write("src/_redirects", "/old-page /about\n")
        try repo.write("canopy-rules-test.yml", Self.tests)
        let good = try repo.commit("a redirect and its test")
        try repo.push("main")
        let passed = try await waitForBuild(canopy, commit: good, status: "succeeded")
        let log = try buildLog(canopy, passed)
        #expect(log.contains("✓ /old-page → 301 /about"), "\(log)")
        #expect(log.contains("✓ /nowhere → 404"), "\(log)")
        try await waitUntil("the tested redirect to be live") { try canopy.get("site.test", "/old-page").status == 301 }
        let live = try canopy.get("site.test", "/old-page")
        #expect(live.header("Location") == "/about")

        // A broken redirect: the test of line 1 fails, the build fails with that line, nothing goes live.
        try repo.write("src/_redirects", "/old-page /abuot 302\n")
        try repo.edit("src/index.html", replacing: "Hello from branch", with: "Broken push on")
        let broken = try repo.commit("a typo in the redirect")
        try repo.push("main")
        let failed = try await waitForBuild(canopy, commit: broken, status: "failed")
        let error = failed["error"] as? String ?? ""
        #expect(
            error.contains(
                "canopy-rules-test.yml:1:3: error: /old-page: expected 301 Location /about, got 302 Location /abuot"),
            "error was: \(error)")
        let failedLog = try buildLog(canopy, failed)
        #expect(
            failedLog.contains("✗ /old-page: expected 301 Location /about, got 302 Location /abuot"), "\(failedLog)")
        #expect(failedLog.contains("✓ /about → 200"), "\(failedLog)")
        #expect(!failedLog.contains("is live"), "\(failedLog)")
        let after = try canopy.get("site.test", "/old-page")
        #expect(after.status == 301 && after.header("Location") == "/about")
        #expect(after.header("X-Canopy-Deployment") == live.header("X-Canopy-Deployment"))
        #expect(try canopy.get("site.test").text.contains("Hello from branch"))
        #expect(failed["deploymentID"] as? String == nil)
    }

    @Test func rulesTestRunsLocallyAgainstAFolder() throws {
        let dir = try makeTemporaryDirectory("rulestest")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let site = dir + "/dist"
        try FileManager.default.createDirectory(atPath: site, withIntermediateDirectories: true)
        try "<h1>About</h1>".write(toFile: site + "/about.html", atomically: true, encoding: .utf8)
        // Netlify's proxy example (docs.netlify.com/manage/routing/redirects/rewrites-proxies).
        try "/old-page /about\n/api/* https://api.example.com/:splat 200\n".write(
            toFile: site + "/_redirects", atomically: true, encoding: .utf8)
        let file = dir + "/canopy-rules-test.yml"
        try (Self.tests + "\n- request: /api/users\n  status: 200\n").write(
            toFile: file, atomically: true, encoding: .utf8)
        let ok = try sh([canopyBinary, "rules", "test", site, "--file", file])
        #expect(ok.contains("✓ /old-page → 301 /about"), "\(ok)")
        #expect(ok.contains("- /api/users: not checked (proxy to https://api.example.com/users)"), "\(ok)")
        #expect(ok.contains("3 passed, 0 failed, 1 not checked (proxy)"), "\(ok)")

        try "/old-page /abuot 302\n".write(toFile: site + "/_redirects", atomically: true, encoding: .utf8)
        let output = try sh([canopyBinary, "rules", "test", site, "--file", file], allowFailure: true)
        #expect(output.contains("✗ /old-page: expected 301 Location /about, got 302 Location /abuot"), "\(output)")
        #expect(output.contains("canopy-rules-test.yml:1)"), "\(output)")
        #expect(throws: (any Error).self) { try sh([canopyBinary, "rules", "test", site, "--file", file]) }
    }
}
