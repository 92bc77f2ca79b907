import Foundation
import Testing

/// The build cache through the real server: pushes, builds, the branch's cache folder, and HTTP.
@Suite(.serialized)
struct BuildCacheEndToEndTests {
    static let sitesFile = """
        repository: ../repos/site.git
        branches:
          main: { domains: [site.test] }
        """

    /// An amplify.yml whose frontend runs `commands` and caches `paths`, deploying `dist`.
    static func spec(_ commands: [String], cache paths: [String]) -> String {
        """
        version: 1
        frontend:
          phases:
            build:
              commands:
        \(commands.map { "        - '\($0.replacingOccurrences(of: "'", with: "''"))'" }.joined(separator: "\n"))
          artifacts:
            baseDirectory: dist
            files:
              - '**/*'
          cache:
            paths:
        \(paths.map { "      - '\($0)'" }.joined(separator: "\n"))

        """
    }

    /// The stale-site bug of #14: a monorepo caching `packages/*/node_modules/**/*` (the paths
    /// Amplify documents as relative to the project root,
    /// https://docs.aws.amazon.com/amplify/latest/userguide/yml-specification-syntax.html) must
    /// serve the second commit's source, with the first build's node_modules restored.
    @Test func aMonorepoCacheNeverBringsBackOldSources() async throws {
        let canopy = try CanopyInstance("cache-monorepo")
        let repo = try SiteRepository(in: canopy, template: nil)
        try canopy.writeSite("site", Self.sitesFile)
        try await canopy.start()
        let commands = [
            "mkdir -p packages/web/node_modules/dep && echo $AWS_COMMIT_ID >> packages/web/node_modules/dep/builds.txt",
            "mkdir -p dist && cp packages/web/src/index.html packages/web/node_modules/dep/builds.txt dist/",
        ]
        try repo.write("amplify.yml", Self.spec(commands, cache: ["packages/*/node_modules/**/*"]))
        try repo.write("packages/web/src/index.html", "<h1>first commit</h1>\n")
        try repo.write("packages/web/package.json", "{\"name\": \"web\"}\n")
        let first = try repo.commit("First")
        try repo.push("main")
        try await canopy.waitForContent("site.test", "first commit")

        try repo.write("packages/web/src/index.html", "<h1>second commit</h1>\n")
        let second = try repo.commit("Second")
        try repo.push("main")
        let build = try await waitForBuild(canopy, commit: second, status: "succeeded")
        #expect(try canopy.get("site.test").text == "<h1>second commit</h1>\n")
        #expect(try canopy.get("site.test", "/builds.txt").text == "\(first)\n\(second)\n")
        #expect(try buildLog(canopy, build).contains("Cache: restored 1 files"))
    }

    /// #15 critical item 2, through the server: a pushed branch links `leak` to the data folder
    /// and caches `leak/admin.token`; its next build must not find (and publish) the token.
    @Test(.enabled(if: getuid() == 0)) func aPushedBranchCannotReadTheAdminTokenThroughTheCache() async throws {
        let canopy = try CanopyInstance("cache-leak")
        let repo = try SiteRepository(in: canopy, template: nil)
        try canopy.writeSite("site", Self.sitesFile)
        try await canopy.start(extraArguments: ["--build-user", "nobody"])
        let token = canopy.adminToken
        #expect(!token.isEmpty)
        let paths = ["leak/admin.token"]
        try repo.write(
            "amplify.yml",
            Self.spec(["ln -s \(canopy.data) leak", "mkdir -p dist && echo one > dist/index.html"], cache: paths))
        let first = try repo.commit("Link the data folder")
        try repo.push("main")
        let firstBuild = try await waitForBuild(canopy, commit: first, status: "succeeded")
        #expect(try buildLog(canopy, firstBuild).contains("`leak` is a symbolic link"))

        let publish = [
            "mkdir -p dist && echo two > dist/index.html",
            "if [ -e leak/admin.token ]; then cp leak/admin.token dist/token.txt; fi",
        ]
        try repo.write("amplify.yml", Self.spec(publish, cache: paths))
        let second = try repo.commit("Publish what the cache brought back")
        try repo.push("main")
        try await waitForBuild(canopy, commit: second, status: "succeeded")
        try await canopy.waitForContent("site.test", "two")
        let leaked = try canopy.get("site.test", "/token.txt")
        #expect(leaked.status == 404)
        #expect(!leaked.text.contains(token))
        let cacheFiles = FileManager.default.enumerator(atPath: canopy.data + "/cache")?.allObjects as? [String] ?? []
        #expect(!cacheFiles.contains { $0.hasSuffix("admin.token") }, "\(cacheFiles)")
    }
}
