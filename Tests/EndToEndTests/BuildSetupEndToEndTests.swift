import Foundation
import Testing

/// What a pushed build starts with, through the real server (#14 "Builds"): the build spec where
/// Amplify looks for it, a real `.git`, and the branch's URL.
@Suite(.serialized)
struct BuildSetupEndToEndTests {
    /// A monorepo whose build spec lives in the app's folder, `frontend/amplify.yml` with
    /// `appRoot: frontend` (https://docs.aws.amazon.com/amplify/latest/userguide/monorepo-configuration.html).
    /// The build runs `git rev-parse HEAD` and reads `CANOPY_URL`.
    @Test func aMonorepoAppWithItsOwnAmplifyYmlBuildsWithGitAndItsURL() async throws {
        let canopy = try CanopyInstance("setup-monorepo")
        let repo = try SiteRepository(in: canopy, template: nil)
        try canopy.writeSite(
            "site",
            """
            repository: ../repos/site.git
            appRoot: frontend
            branches:
              main: { domains: [site.test, www.site.test] }
            """)
        try await canopy.start()
        try repo.write(
            "frontend/amplify.yml",
            """
            version: 1
            frontend:
              phases:
                build:
                  commands:
                    - mkdir -p dist && cp src/index.html dist/ && git rev-parse HEAD > dist/head.txt
                    - echo "$CANOPY_URL $CANOPY_HOSTNAMES" > dist/url.txt
              artifacts:
                baseDirectory: dist
                files: ['**/*']

            """)
        try repo.write("frontend/src/index.html", "<h1>from the app folder</h1>\n")
        try repo.write("frontend/package.json", "{\"scripts\": {\"build\": \"echo built\"}}\n")
        try repo.write("README.md", "A monorepo\n")
        let commit = try repo.commit("Monorepo")
        try repo.push("main")
        try await waitForBuild(canopy, commit: commit, status: "succeeded")
        #expect(try canopy.get("site.test").text == "<h1>from the app folder</h1>\n")
        #expect(try canopy.get("site.test", "/head.txt").text == commit + "\n")
        #expect(try canopy.get("site.test", "/url.txt").text == "http://site.test site.test www.site.test\n")
        #expect(try canopy.get("site.test", "/amplify.yml").status == 404)
        #expect(try canopy.get("site.test", "/package.json").status == 404)
    }

    /// No build spec anywhere, but the app's package.json has a build script: the build fails with
    /// a message instead of publishing the sources.
    @Test func sourcesThatNeedABuildAreNeverPublished() async throws {
        let canopy = try CanopyInstance("setup-nospec")
        let repo = try SiteRepository(in: canopy, template: nil)
        try canopy.writeSite(
            "site", "repository: ../repos/site.git\nbranches:\n  main: { domains: [site.test] }\n")
        try await canopy.start()
        try repo.write("package.json", "{\"scripts\": {\"build\": \"vite build\"}}\n")
        try repo.write("index.html", "<script type=module src=/src/main.ts></script>\n")
        try repo.write(".env", "SECRET=1\n")
        let commit = try repo.commit("Vite app without amplify.yml")
        try repo.push("main")
        let build = try await waitForBuild(canopy, commit: commit, status: "failed")
        let error = build["error"] as? String ?? ""
        #expect(error.contains("package.json has a build script"), "\(error)")
        #expect(try canopy.get("site.test", "/.env").status != 200)
    }
}
