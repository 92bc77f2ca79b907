import Foundation
import Testing

/// A push to a bare repository Canopy did not create (plain `git init --bare`: no post-receive
/// hook) deploys at once: the server watches local repositories' refs with inotify. The poll
/// interval is ten minutes here, so nothing else could explain the deploys.
@Suite(.serialized)
struct RefWatchTests {
    @Test func aPushToAPlainBareRepositoryDeploysWithoutAHookOrAPoll() async throws {
        let canopy = try CanopyInstance("refwatch")
        let repo = try SiteRepository(in: canopy, plain: true)
        #expect(!FileManager.default.fileExists(atPath: repo.bare + "/hooks/post-receive"))
        try canopy.writeSite(
            "site",
            """
            repository: ../repos/site.git
            branches:
              main: { domains: [site.test] }
            previews:
              - branches: "feature/*"
                domain: "{branch}.preview.site.test"
            """)
        try await canopy.start(extraArguments: ["--poll", "600"])
        // The first scan at start sees an empty repository; the push comes after it.
        try await Task.sleep(for: .seconds(1))
        try repo.commit("main")
        try repo.push("main")
        try await canopy.waitForContent("site.test", "<em id=\"branch\">main</em>", timeout: .seconds(60))

        // A branch in a new folder (refs/heads/feature/ appears) and a second push to main.
        try repo.checkout("feature/one", create: true)
        try repo.commit("feature/one")
        try repo.push("feature/one")
        try await canopy.waitForContent(
            "feature-one.preview.site.test", "<em id=\"branch\">feature/one</em>", timeout: .seconds(60))
        try repo.checkout("main")
        try repo.edit("src/index.html", replacing: "<h1>", with: "<h1 data-second-push>")
        try repo.commit("second")
        try repo.push("main")
        try await canopy.waitForContent("site.test", "data-second-push", timeout: .seconds(60))

        // Packed refs: `git pack-refs` then a push that updates the packed branch.
        _ = try sh(["git", "-C", repo.bare, "pack-refs", "--all"])
        try repo.edit("src/index.html", replacing: "data-second-push", with: "data-third-push")
        try repo.commit("third")
        try repo.push("main")
        try await canopy.waitForContent("site.test", "data-third-push", timeout: .seconds(60))
        #expect(try await canopy.stop() == 0)
    }
}
