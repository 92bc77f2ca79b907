import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue #15, item 7: resource limits per build, and builds that cannot read other sites'
/// repositories. A real root `canopy serve --build-user nobody`; a pushed branch that takes too
/// much memory or disk fails with a message and the deployment before it keeps serving. Amplify
/// gives each build an instance of fixed memory and disk (8 GiB and 128 GB for the standard one:
/// https://docs.aws.amazon.com/amplify/latest/userguide/custom-build-instance.html); on one
/// machine shared by every site's builds, each build gets limits of its own instead.
@Suite(.serialized)
struct BuildLimitsEndToEndTests {
    static let sitesFile = "repository: ../repos/site.git\nbranches:\n  main: { domains: [site.test] }\n"

    /// A server with `limits` whose site serves a first deployment; the repository to push more.
    static func served(_ label: String, limits: [String]) async throws -> (CanopyInstance, SiteRepository) {
        let canopy = try CanopyInstance(label)
        let repo = try SiteRepository(in: canopy, template: nil)
        try canopy.writeSite("site", sitesFile)
        chmod(canopy.root, 0o755)
        try await canopy.start(extraArguments: ["--build-user", "nobody"] + limits)
        try repo.write("index.html", "<p>first</p>\n")
        try repo.write("amplify.yml", BuildIsolationEndToEndTests.amplify(["mkdir -p dist", "cp index.html dist/"]))
        try repo.commit("First")
        try repo.push("main")
        try await canopy.waitForContent("site.test", "first")
        return (canopy, repo)
    }

    /// Pushes `commands` as the next build; returns its record and log once it has failed.
    static func failingPush(
        _ canopy: CanopyInstance, _ repo: SiteRepository, _ commands: [String]
    ) async throws -> (build: [String: Any], log: String) {
        try repo.write("index.html", "<p>second</p>\n")
        try repo.write("amplify.yml", BuildIsolationEndToEndTests.amplify(commands + ["cp index.html dist/"]))
        let commit = try repo.commit("Too much")
        try repo.push("main")
        let build = try await waitForBuild(canopy, commit: commit, status: "failed", timeout: .seconds(180))
        return (build, try buildLog(canopy, build))
    }

    @Test(.enabled(if: getuid() == 0)) func aBuildThatTakesTooMuchMemoryFailsAndTheSiteKeepsServing() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else {
            print("BuildLimitsEndToEndTests: skipped the memory test (no /usr/bin/python3)")
            return
        }
        let (canopy, repo) = try await Self.served("limit-memory", limits: ["--build-max-memory", "256MiB"])
        let cgroups = canopy.serverLog.contains("builds run in cgroups (")
        #expect(cgroups || canopy.serverLog.contains("memory limit 256 MiB per process (RLIMIT_DATA)"))
        let (build, log) = try await Self.failingPush(
            canopy, repo, ["mkdir -p dist", "python3 -c 'b = bytearray(600 * 1024 * 1024); print(len(b))'"])
        if cgroups {
            #expect(log.contains("## Build stopped: it used more than 256 MiB of memory"), "\(log)")
            #expect((build["error"] as? String)?.contains("used more than 256 MiB of memory") == true, "\(build)")
        } else {
            print("BuildLimitsEndToEndTests: no cgroup here; checked the per-process limit (RLIMIT_DATA) alone")
            #expect(log.contains("MemoryError"), "\(log)")
        }
        #expect(try canopy.get("site.test").text == "<p>first</p>\n")
    }

    @Test(.enabled(if: getuid() == 0)) func aBuildThatFillsTooMuchDiskIsStoppedAndTheSiteKeepsServing() async throws {
        let (canopy, repo) = try await Self.served("limit-disk", limits: ["--build-max-disk", "64MiB"])
        #expect(canopy.serverLog.contains("build disk limit: 64 MiB per build"))
        // 40 MiB in the checkout and 40 MiB in /tmp: neither alone is over, together they are; the
        // build is stopped while it sleeps, long before its timeout.
        let (build, log) = try await Self.failingPush(
            canopy, repo,
            [
                "mkdir -p dist", "dd if=/dev/zero of=big bs=1M count=40 status=none",
                "dd if=/dev/zero of=/tmp/canopy-fill-$$ bs=1M count=40 status=none", "sleep 600",
            ])
        #expect(log.contains("## Build stopped: it used more than 64 MiB of disk"), "\(log)")
        #expect((build["error"] as? String)?.contains("used more than 64 MiB of disk") == true, "\(build)")
        #expect(try canopy.get("site.test").text == "<p>first</p>\n")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []
        #expect(!left.contains { $0.hasPrefix("canopy-fill-") }, "the build's temporary file outlived it")
    }

    /// Site b's build tries to read site a's repository (a local one, named in a's Sites file) in
    /// every way a build could: clone it, read its files, list it. It gets nothing; both sites
    /// still build from their own repositories.
    @Test(.enabled(if: getuid() == 0)) func aBuildCannotReadAnotherSitesRepository() async throws {
        let canopy = try CanopyInstance("repo-readability")
        let a = try SiteRepository(in: canopy, name: "a", template: nil)
        let b = try SiteRepository(in: canopy, name: "b", template: nil)
        try canopy.writeSite("a", "repository: ../repos/a.git\nbranches:\n  main: { domains: [a.test] }\n")
        try canopy.writeSite("b", "repository: ../repos/b.git\nbranches:\n  main: { domains: [b.test] }\n")
        chmod(canopy.root, 0o755)
        chmod(canopy.root + "/repos", 0o755)
        try await canopy.start(extraArguments: ["--build-user", "nobody"])

        try a.write("index.html", "<p>site a</p>\n")
        try a.write("secret.txt", "site a's unpublished source\n")
        try a.write("amplify.yml", BuildIsolationEndToEndTests.amplify(["mkdir -p dist", "cp index.html dist/"]))
        try a.commit("a")
        try a.push("main")
        try await canopy.waitForContent("a.test", "site a")

        let repository = canopy.root + "/repos/a.git"
        try b.write(
            "amplify.yml",
            BuildIsolationEndToEndTests.amplify([
                "mkdir -p dist",
                "touch dist/cloned.txt && git clone -q \(repository) stolen 2>/dev/null && cat stolen/secret.txt > dist/cloned.txt || true",
                "cat \(repository)/HEAD > dist/head.txt 2>/dev/null || true",
                "ls \(repository)/objects > dist/objects.txt 2>/dev/null || true",
                "ls \(canopy.data)/mirrors > dist/mirrors.txt 2>/dev/null || true",
                "git rev-parse HEAD > dist/own.txt",
            ]))
        let bCommit = try b.commit("b")
        try b.push("main")
        let build = try await waitForBuild(canopy, commit: bCommit, status: "succeeded")
        let log = try buildLog(canopy, build)
        for file in ["cloned.txt", "head.txt", "objects.txt", "mirrors.txt"] {
            #expect(try canopy.get("b.test", "/" + file).text.isEmpty, "site b's build read \(file)\n\(log)")
        }
        // b's own checkout (with its .git) came from the server.
        #expect(try canopy.get("b.test", "/own.txt").text.hasPrefix(bCommit))
        #expect(canopy.serverLog.contains("the repository \(repository) was open to every account"))
        // Pushes go on: a's repository still takes a push, and a builds it.
        try a.write("index.html", "<p>site a again</p>\n")
        try a.commit("a again")
        try a.push("main")
        try await canopy.waitForContent("a.test", "site a again")
    }
}
