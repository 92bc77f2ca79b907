import CanopyBuild
import CanopySpec
import Foundation
import Testing

/// Builds run as an unprivileged user (`nobody`, which every Debian system has) when the runner is
/// root, as CI is; the privilege drop needs root, so those tests are skipped for other users.
@Suite struct BuildUserTests {
    static let isRoot = getuid() == 0

    @Test func anUnknownUserOrRootIsRefusedWithAMessage() throws {
        let unknown = #expect(throws: BuildFailure.self) { try BuildUser.lookup("no-such-canopy-user") }
        #expect(unknown?.message.contains("useradd") == true)
        let root = #expect(throws: BuildFailure.self) { try BuildUser.lookup("root") }
        #expect(root?.message.contains("unprivileged") == true)
    }

    @Test(.enabled(if: isRoot)) func commandsRunAsTheUserWithTheirCheckoutHomeAndCacheButNothingElse() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let user = try BuildUser.lookup("nobody")
        // Root's: a private folder with a secret, and a folder others may read but not write.
        let closed = fixture.folder + "/closed"
        let locked = fixture.folder + "/locked"
        try FileManager.default.createDirectory(atPath: closed, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: true)
        try "root only\n".write(toFile: closed + "/secret.txt", atomically: true, encoding: .utf8)
        chmod(closed, 0o700)
        chmod(locked, 0o755)
        // A cache restored by root must come back writable for the build.
        let cache = fixture.folder + "/cache"
        try FileManager.default.createDirectory(atPath: cache + "/checkout/deps", withIntermediateDirectories: true)
        try "v1\n".write(toFile: cache + "/checkout/deps/lib.txt", atomically: true, encoding: .utf8)
        try fixture.write("src/page.html", "<p>checked out by root</p>\n")

        var plan = frontendPlan([
            "mkdir -p dist && id -u > dist/uid.txt && id -G > dist/groups.txt",
            "grep NoNewPrivs /proc/self/status | tr -d ' \\t' > dist/nnp.txt",
            "echo note > \"$HOME/note\" && cp \"$HOME/note\" dist/home.txt",
            "cp src/page.html dist/ && echo edited >> src/page.html",
            "echo v2 >> deps/lib.txt",
            "if cat \(closed)/secret.txt; then echo LEAKED > dist/leak.txt; fi",
            "if touch \(locked)/planted; then echo PLANTED > dist/planted.txt; fi",
        ])
        plan.cachePaths = ["deps/**/*"]
        var request = fixture.request(plan)
        request.cacheDirectory = cache
        request.runAs = user
        let result = await fixture.run(request)
        #expect(result.succeeded, "\(String(describing: result.failure))\n\(fixture.log)")

        func artifact(_ name: String) -> String? {
            fixture.read(fixture.artifacts + "/" + name)?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(artifact("uid.txt") == "\(user.uid)")
        #expect(artifact("groups.txt") == "\(user.gid)")
        #expect(artifact("nnp.txt") == "NoNewPrivs:1")
        #expect(artifact("home.txt") == "note")
        #expect(artifact("page.html") == "<p>checked out by root</p>")
        #expect(artifact("leak.txt") == nil)
        #expect(artifact("planted.txt") == nil)
        #expect(!FileManager.default.fileExists(atPath: locked + "/planted"))
        #expect(fixture.log.contains("Permission denied"))
        #expect(fixture.log.contains("Running as user nobody"))
        // The cache was saved from the user's edit.
        #expect(fixture.read(cache + "/checkout/deps/lib.txt") == "v1\nv2\n")
    }

    @Test(.enabled(if: isRoot)) func aCheckoutTheUserCannotReachFailsTheBuildWithAMessage() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let closed = fixture.folder + "/closed"
        try FileManager.default.createDirectory(atPath: closed + "/src", withIntermediateDirectories: true)
        chmod(closed, 0o700)
        var request = fixture.request(frontendPlan(["mkdir -p dist && echo hi > dist/index.html"]))
        request.sourceDirectory = closed + "/src"
        request.runAs = try BuildUser.lookup("nobody")
        let result = await fixture.run(request)
        let failure = try #require(result.failure)
        #expect(failure.message.contains("cannot enter \(closed) (mode 700)"), "\(failure.message)")
        #expect(fixture.artifactFiles().isEmpty)
    }
}
