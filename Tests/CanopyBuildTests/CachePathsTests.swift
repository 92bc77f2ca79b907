import CanopyBuild
import CanopySpec
import Foundation
import Testing

/// `cache.paths` as Amplify documents `cache`
/// (https://docs.aws.amazon.com/amplify/latest/userguide/yml-specification-syntax.html): the paths
/// the globs match are cached after a build and restored to the same paths before the next one's
/// commands run. Each test runs two real builds sharing one cache folder.
@Suite struct CachePathsTests {
    /// Runs `plan` in a fresh fixture (prepared by `prepare`) against `cache`.
    static func build(
        _ plan: BuildPlan, cache: String, prepare: (Fixture) throws -> Void = { _ in }
    ) async throws -> (Fixture, BuildResult) {
        let fixture = try Fixture()
        try prepare(fixture)
        var request = fixture.request(plan)
        request.cacheDirectory = cache
        let result = await fixture.run(request)
        #expect(result.succeeded, "\(String(describing: result.failure))\n\(fixture.log)")
        return (fixture, result)
    }

    static func newCache() -> String { NSTemporaryDirectory() + "canopy-cache-" + UUID().uuidString }

    /// The stale-site bug (#14): `packages/*/node_modules/**/*` cached the whole `packages` folder,
    /// and the restore put the old sources back over the new checkout.
    @Test func aWildcardInAMiddleSegmentCachesOnlyWhatItMatches() async throws {
        let cache = Self.newCache()
        defer { try? FileManager.default.removeItem(atPath: cache) }
        var plan = frontendPlan([
            "mkdir -p packages/web/node_modules/dep && echo $CANOPY_BUILD_ID >> packages/web/node_modules/dep/builds",
            "mkdir -p dist && cp packages/web/src/index.html packages/web/node_modules/dep/builds dist/",
        ])
        plan.cachePaths = ["packages/*/node_modules/**/*"]
        let (first, _) = try await Self.build(plan, cache: cache) { try $0.write("packages/web/src/index.html", "v1") }
        defer { first.remove() }
        let (second, _) = try await Self.build(plan, cache: cache) {
            try $0.write("packages/web/src/index.html", "v2")
        }
        defer { second.remove() }
        #expect(second.read(second.artifacts + "/index.html") == "v2")
        #expect(second.read(second.artifacts + "/builds") == "\(first.buildID)\n\(second.buildID)\n")
        #expect(!FileManager.default.fileExists(atPath: cache + "/checkout/packages/web/src"))
    }

    /// A file that came from the checkout is never replaced by the cache's copy.
    @Test func theRestoreKeepsFilesFromTheCheckout() async throws {
        let cache = Self.newCache()
        defer { try? FileManager.default.removeItem(atPath: cache) }
        var plan = frontendPlan([
            "mkdir -p node_modules/dep && [ -f node_modules/dep/a.txt ] || echo built > node_modules/dep/a.txt",
            "echo extra > node_modules/dep/b.txt && mkdir -p dist && cp node_modules/dep/a.txt dist/",
        ])
        plan.cachePaths = ["node_modules/**/*"]
        let (first, _) = try await Self.build(plan, cache: cache)
        defer { first.remove() }
        plan.stages[0].phases[0].commands.insert(
            command("cp node_modules/dep/b.txt dist/b.txt || true", line: 9), at: 0)
        plan.stages[0].phases[0].commands.insert(command("mkdir -p dist", line: 8), at: 0)
        let (second, _) = try await Self.build(plan, cache: cache) {
            try $0.write("node_modules/dep/a.txt", "committed\n")
        }
        defer { second.remove() }
        #expect(second.read(second.artifacts + "/a.txt") == "committed\n")
        #expect(second.read(second.artifacts + "/b.txt") == "extra\n")
        #expect(second.log.contains("1 already in the checkout were kept"), "\(second.log)")
    }

    /// `~/…` and `$HOME/…` name the build's HOME; `!` excludes.
    @Test func homePathsAndExclusions() async throws {
        let cache = Self.newCache()
        defer { try? FileManager.default.removeItem(atPath: cache) }
        var plan = frontendPlan([
            "mkdir -p ~/.npm/_cacache ~/.npm/_logs ~/.cache/tool dist",
            "[ -f ~/.npm/_cacache/p ] || echo pkg > ~/.npm/_cacache/p",
            "echo log > ~/.npm/_logs/l && echo tool > ~/.cache/tool/t",
        ])
        plan.cachePaths = ["~/.npm/**/*", "$HOME/.cache/tool/**/*", "!~/.npm/_logs/**/*"]
        let (first, _) = try await Self.build(plan, cache: cache)
        defer { first.remove() }
        plan = frontendPlan([
            "mkdir -p dist && cat ~/.npm/_cacache/p ~/.cache/tool/t > dist/state",
            "if [ -e ~/.npm/_logs/l ]; then echo logs >> dist/state; fi",
        ])
        plan.cachePaths = ["~/.npm/**/*", "$HOME/.cache/tool/**/*", "!~/.npm/_logs/**/*"]
        let (second, _) = try await Self.build(plan, cache: cache)
        defer { second.remove() }
        #expect(second.read(second.artifacts + "/state") == "pkg\ntool\n")
    }

    /// An absolute path outside the checkout (Cypress keeps its binary in `~/.cache/Cypress`, which
    /// on Amplify is `/root/.cache/Cypress`) is kept in the branch's cache folder.
    @Test func absolutePathsOutsideTheCheckoutAreKeptPerBranch() async throws {
        let cache = Self.newCache()
        let outside = NSTemporaryDirectory() + "canopy-outside-" + UUID().uuidString
        defer {
            try? FileManager.default.removeItem(atPath: cache)
            try? FileManager.default.removeItem(atPath: outside)
        }
        var plan = frontendPlan(["mkdir -p \(outside)/bin dist && echo tool > \(outside)/bin/tool"])
        plan.cachePaths = [outside + "/bin/**/*"]
        let (first, _) = try await Self.build(plan, cache: cache)
        defer { first.remove() }
        try FileManager.default.removeItem(atPath: outside)
        plan = frontendPlan(["mkdir -p dist && cp \(outside)/bin/tool dist/tool"])
        plan.cachePaths = [outside + "/bin/**/*"]
        let (second, _) = try await Self.build(plan, cache: cache)
        defer { second.remove() }
        #expect(second.read(second.artifacts + "/tool") == "tool\n")
        #expect(FileManager.default.fileExists(atPath: cache + "/absolute" + outside + "/bin/tool"))
    }

    /// Links inside a cached folder (`node_modules/.bin`) are kept as links.
    @Test func linksInsideCachedFoldersStayLinks() async throws {
        let cache = Self.newCache()
        defer { try? FileManager.default.removeItem(atPath: cache) }
        var plan = frontendPlan([
            "mkdir -p node_modules/tool/bin node_modules/.bin dist && echo run > node_modules/tool/bin/tool",
            "[ -L node_modules/.bin/tool ] || ln -s ../tool/bin/tool node_modules/.bin/tool",
            "readlink node_modules/.bin/tool > dist/link && cat node_modules/.bin/tool > dist/content",
        ])
        plan.cachePaths = ["node_modules/**/*"]
        let (first, _) = try await Self.build(plan, cache: cache)
        defer { first.remove() }
        let (second, _) = try await Self.build(plan, cache: cache)
        defer { second.remove() }
        #expect(second.log.contains("restored 1 files and 1 links"), "\(second.log)")
        #expect(second.read(second.artifacts + "/link") == "../tool/bin/tool\n")
        #expect(second.read(second.artifacts + "/content") == "run\n")
    }

    @Test func pathsOutsideTheRepositoryOrNamingAllOfItAreRefusedWithAWarning() async throws {
        let cache = Self.newCache()
        defer { try? FileManager.default.removeItem(atPath: cache) }
        var plan = frontendPlan(["mkdir -p dist"])
        plan.cachePaths = ["../../outside/**/*", "**/*", "/**/*"]
        let (fixture, _) = try await Self.build(plan, cache: cache)
        defer { fixture.remove() }
        #expect(fixture.log.contains("`../../outside/**/*` is outside the repository"), "\(fixture.log)")
        #expect(fixture.log.contains("`**/*` names the whole repository"), "\(fixture.log)")
        #expect(fixture.log.contains("`/**/*` names the whole disk"), "\(fixture.log)")
    }
}

/// #15: branches whose DNS labels collide (`Main`, `main`) shared one cache folder.
@Suite struct CacheFolderNameTests {
    @Test func everyBranchHasItsOwnFolder() {
        let branches = [
            "main", "Main", "MAIN", "feature/x", "feature-x", "feature_x", "feature.x", ".hidden", "..", "a b", "ünï",
            "%2F", "/", String(repeating: "a", count: 200), String(repeating: "a", count: 200) + "b",
            String(repeating: "a", count: 200) + "+", String(repeating: "é", count: 150),
        ]
        let names = branches.map { CacheFolder.name(branch: $0) }
        #expect(Set(names).count == branches.count, "\(names)")
        for name in names {
            let parts = name.split(separator: "/", omittingEmptySubsequences: false)
            #expect(parts.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." && $0.utf8.count <= 255 }, "\(name)")
        }
        // No branch's folder is inside another's.
        for a in names { for b in names where a != b { #expect(!b.hasPrefix(a + "/"), "\(a) contains \(b)") } }
        #expect(CacheFolder.name(branch: "feature/Login_Page") == "feature%2FLogin_Page")
    }
}
