import CanopyBuild
import CanopySpec
import Foundation
import Testing

@Suite struct ArtifactAndCacheTests {
    @Test func artifactsAreSelectedByGlobs() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let plan = frontendPlan(
            [
                "mkdir -p dist/assets/img dist/notes",
                "echo page > dist/index.html && echo about > dist/about.html",
                "echo css > dist/assets/site.css && echo png > dist/assets/img/a.png",
                "echo skip > dist/notes/todo.txt && echo x > dist/a1.md && echo y > dist/abc.md",
            ],
            artifacts: ArtifactSelection(baseDirectory: "dist", files: ["*.html", "assets/**/*", "a?.md"]))
        let result = await fixture.run(fixture.request(plan))
        #expect(result.succeeded, "\(String(describing: result.failure))")
        #expect(
            fixture.artifactFiles() == ["a1.md", "about.html", "assets/img/a.png", "assets/site.css", "index.html"])
        #expect(result.artifactCount == 5)
        #expect(result.byteCount == 5 + 6 + 4 + 4 + 2)
    }

    /// Issue #15: a file whose name is not UTF-8 was dropped without a word. It still cannot be
    /// deployed (no URL names it), but the build log now says which file and why.
    @Test func aFileNameThatIsNotUTF8IsNamedInAWarning() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let plan = frontendPlan(
            ["mkdir -p dist && echo page > dist/index.html && echo x > \"dist/caf$(printf '\\351').html\""],
            artifacts: ArtifactSelection(baseDirectory: "dist", files: ["**/*"]))
        let result = await fixture.run(fixture.request(plan))
        #expect(result.succeeded, "\(String(describing: result.failure))")
        #expect(fixture.artifactFiles() == ["index.html"])
        #expect(
            fixture.log.contains("## Warning: `dist/caf\\xe9.html` is not deployed: its name is not UTF-8"),
            "\(fixture.log)")
    }

    @Test func baseDirectoryIsRelativeToAppRoot() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        var plan = frontendPlan(["mkdir -p build && echo hi > build/index.html"])
        plan.appRoot = "packages/web"
        plan.artifacts = ArtifactSelection(baseDirectory: "build", files: ["**/*"])
        try fixture.write("packages/web/package.json", "{}")
        let result = await fixture.run(fixture.request(plan))
        #expect(result.succeeded, "\(String(describing: result.failure))")
        #expect(fixture.artifactFiles() == ["index.html"])
    }

    @Test func symlinkOutsideTheBaseFolderFailsTheBuild() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try fixture.write("secret.txt", "do not publish")
        let plan = frontendPlan(["mkdir -p dist && echo ok > dist/index.html", "ln -s ../secret.txt dist/leak.txt"])
        let result = await fixture.run(fixture.request(plan))
        let failure = try #require(result.failure)
        #expect(failure.message.contains("dist/leak.txt"))
        #expect(failure.message.contains("../secret.txt"))
        #expect(failure.message.contains("outside"))
        #expect(fixture.artifactFiles().isEmpty)
    }

    @Test func symlinkToAFolderOutsideIsRefusedToo() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let plan = frontendPlan(["mkdir -p dist && echo ok > dist/index.html", "ln -s /etc dist/etc"])
        let result = await fixture.run(fixture.request(plan))
        #expect(result.failure?.message.contains("dist/etc") == true)
        #expect(fixture.artifactFiles().isEmpty)
    }

    @Test func symlinkInsideIsCopiedAsAFile() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let plan = frontendPlan([
            "mkdir -p dist/real && echo body > dist/real/file.txt", "ln -s real/file.txt dist/alias.txt",
        ])
        let result = await fixture.run(fixture.request(plan))
        #expect(result.succeeded, "\(String(describing: result.failure))")
        #expect(fixture.artifactFiles() == ["alias.txt", "real/file.txt"])
        let alias = fixture.artifacts + "/alias.txt"
        #expect(fixture.read(alias) == "body\n")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: alias)) == nil)
    }

    @Test func missingBaseDirectoryIsExplained() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let plan = frontendPlan(
            ["echo built nothing"], artifacts: ArtifactSelection(baseDirectory: "public", files: ["**/*"]))
        let result = await fixture.run(fixture.request(plan))
        let failure = try #require(result.failure)
        #expect(failure.message.contains("`public` does not exist after the build"))
    }

    @Test func repositoryWithoutSpecDeploysItsRootWithoutGitFolder() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try fixture.write("index.html", "home")
        try fixture.write(".git/HEAD", "ref: refs/heads/main")
        let result = await fixture.run(fixture.request(.repositoryRoot))
        #expect(result.succeeded, "\(String(describing: result.failure))")
        #expect(fixture.artifactFiles() == ["index.html"])
    }

    @Test func nonEmptyArtifactFolderIsRefused() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try FileManager.default.createDirectory(atPath: fixture.artifacts, withIntermediateDirectories: true)
        try "old".write(toFile: fixture.artifacts + "/old.txt", atomically: true, encoding: .utf8)
        let result = await fixture.run(fixture.request(frontendPlan(["mkdir -p dist"])))
        #expect(result.failure?.message.contains("is not empty") == true)
    }

    @Test func cacheIsSavedAfterSuccessAndRestoredOnTheNextBuild() async throws {
        let cacheFolder = NSTemporaryDirectory() + "canopy-cache-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: cacheFolder) }
        var plan = frontendPlan([
            "mkdir -p dist",
            "if [ -f node_modules/dep/count ]; then echo restored > dist/state; else echo fresh > dist/state; fi",
            "mkdir -p node_modules/dep && echo $CANOPY_BUILD_ID >> node_modules/dep/count",
            "cp node_modules/dep/count dist/count",
        ])
        plan.cachePaths = ["node_modules/**/*", "../../outside/**/*"]

        let first = try Fixture()
        defer { first.remove() }
        var request = first.request(plan)
        request.cacheDirectory = cacheFolder
        let firstResult = await first.run(request)
        #expect(firstResult.succeeded, "\(String(describing: firstResult.failure))")
        #expect(first.read(first.artifacts + "/state") == "fresh\n")
        #expect(first.read(cacheFolder + "/checkout/node_modules/dep/count") == "\(first.buildID)\n")
        #expect(first.log.contains("outside the repository"))

        let second = try Fixture()
        defer { second.remove() }
        request = second.request(plan)
        request.cacheDirectory = cacheFolder
        let secondResult = await second.run(request)
        #expect(secondResult.succeeded, "\(String(describing: secondResult.failure))")
        #expect(second.read(second.artifacts + "/state") == "restored\n")
        #expect(second.read(second.artifacts + "/count") == "\(first.buildID)\n\(second.buildID)\n")
        #expect(
            second.read(cacheFolder + "/checkout/node_modules/dep/count") == "\(first.buildID)\n\(second.buildID)\n")
    }

    @Test func emptyCacheIsSeededFromTheSeedFolder() async throws {
        let seed = NSTemporaryDirectory() + "canopy-seed-" + UUID().uuidString
        let cacheFolder = NSTemporaryDirectory() + "canopy-cache-" + UUID().uuidString
        defer {
            try? FileManager.default.removeItem(atPath: seed)
            try? FileManager.default.removeItem(atPath: cacheFolder)
        }
        try FileManager.default.createDirectory(
            atPath: seed + "/checkout/.next/cache", withIntermediateDirectories: true)
        try "from production".write(toFile: seed + "/checkout/.next/cache/x", atomically: true, encoding: .utf8)
        var plan = frontendPlan(["mkdir -p dist && cp .next/cache/x dist/x"])
        plan.cachePaths = [".next/cache/**/*"]
        let fixture = try Fixture()
        defer { fixture.remove() }
        var request = fixture.request(plan)
        request.cacheDirectory = cacheFolder
        request.seedCacheDirectory = seed
        let result = await fixture.run(request)
        #expect(result.succeeded, "\(String(describing: result.failure))")
        #expect(fixture.read(fixture.artifacts + "/x") == "from production")
        #expect(fixture.read(cacheFolder + "/checkout/.next/cache/x") == "from production")
    }

    @Test func copyTreeKeepsContentAndLinks() throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try fixture.write("a/b.txt", "b")
        try FileManager.default.createSymbolicLink(atPath: fixture.source + "/a/link", withDestinationPath: "b.txt")
        try BuildRunner.copyTree(from: fixture.source, to: fixture.folder + "/copy/src")
        #expect(fixture.read(fixture.folder + "/copy/src/a/b.txt") == "b")
        #expect(
            (try? FileManager.default.destinationOfSymbolicLink(atPath: fixture.folder + "/copy/src/a/link")) == "b.txt"
        )
    }
}
