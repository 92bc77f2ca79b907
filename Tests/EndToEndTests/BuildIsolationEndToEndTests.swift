import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue #15, item 7, as it was found: a root `canopy serve --build-user nobody` with two sites.
/// While site a's build runs (its deploy key in its environment), site b's build reads every
/// `/proc/*/environ`, reads and overwrites a's checkout, and leaves a detached process behind. Each
/// build now runs as a uid of its own, like systemd's `DynamicUser=`
/// (https://www.freedesktop.org/software/systemd/man/systemd.exec.html#DynamicUser=): b gets
/// nothing, a deploys what it checked out, and b's process ends with b's build.
@Suite(.serialized)
struct BuildIsolationEndToEndTests {
    static func amplify(_ commands: [String]) -> String {
        """
        version: 1
        frontend:
          phases:
            build:
              commands:
        \(commands.map { "        - " + $0 }.joined(separator: "\n"))
          artifacts:
            baseDirectory: dist
            files: ['**/*']
        """
    }

    @Test(.enabled(if: getuid() == 0)) func oneSitesBuildCannotReadOrDefaceAnotherSitesBuild() async throws {
        let canopy = try CanopyInstance("isolation")
        let folder = canopy.root + "/builds"
        let secret = "a-deploy-key-" + UUID().uuidString
        let release = canopy.root + "/release-a"
        let a = try SiteRepository(in: canopy, name: "a", template: nil)
        let b = try SiteRepository(in: canopy, name: "b", template: nil)
        try canopy.writeSite(
            "a",
            "repository: ../repos/a.git\nenv: { A_DEPLOY_KEY: \(secret) }\nbranches:\n  main: { domains: [a.test] }\n")
        try canopy.writeSite("b", "repository: ../repos/b.git\nbranches:\n  main: { domains: [b.test] }\n")
        chmod(canopy.root, 0o755)
        try await canopy.start(extraArguments: ["--build-user", "nobody", "--build-folder", folder, "--builds", "2"])

        // Site a: waits (its deploy key in its environment) until the test lets it go on.
        try a.write("index.html", "<p>site a</p>\n")
        try a.write("private.txt", "site a's source\n")
        try a.write(
            "amplify.yml",
            Self.amplify([
                "touch running", "while [ ! -e \(release) ]; do sleep 0.1; done", "mkdir -p dist",
                "cp index.html dist/",
            ]))
        let aCommit = try a.commit("a")
        try a.push("main")
        _ = try await waitForBuild(canopy, commit: aCommit, status: "running")
        var checkout = ""
        try await waitUntil("site a's build to run") {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            checkout =
                names.map { folder + "/" + $0 + "/src" }.first {
                    FileManager.default.fileExists(atPath: $0 + "/running")
                } ?? ""
            return !checkout.isEmpty
        }

        // Site b: the attack.
        try b.write(
            "amplify.yml",
            Self.amplify([
                "mkdir -p dist",
                "for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < $f 2>/dev/null | grep A_DEPLOY_KEY || true; "
                    + "done > dist/stolen.txt",
                // The checkout's path, as a's processes show it in /proc/PID/cwd (here given outright).
                "cat \(checkout)/private.txt > dist/read.txt 2>/dev/null || true",
                // Site a's Sites file holds its deploy key too.
                "cat \(canopy.sites)/a.yml > dist/sites.txt 2>/dev/null || true",
                "if echo defaced > \(checkout)/index.html; then touch dist/defaced.txt; fi",
                "setsid env -i /bin/sleep 600 > /dev/null 2>&1 & echo $! > dist/pid.txt",
                // Once it is sleep, setsid has run: the stage's group kill can no longer reach it.
                "while [ \"$(cat /proc/$(cat dist/pid.txt)/comm)\" != sleep ]; do sleep 0.05; done",
                "echo attack done > dist/index.html",
            ]))
        let bCommit = try b.commit("b")
        try b.push("main")
        let bBuild = try await waitForBuild(canopy, commit: bCommit, status: "succeeded")
        FileManager.default.createFile(atPath: release, contents: nil)
        _ = try await waitForBuild(canopy, commit: aCommit, status: "succeeded")

        let bLog = try buildLog(canopy, bBuild)
        #expect(try canopy.get("b.test", "/index.html").text == "attack done\n", "\(bLog)")
        let stolen = try canopy.get("b.test", "/stolen.txt").text
        #expect(!stolen.contains(secret), "site b read site a's environment: \(stolen)")
        #expect(try canopy.get("b.test", "/read.txt").text.isEmpty)
        #expect(try canopy.get("b.test", "/sites.txt").text.isEmpty, "a build read the Sites folder")
        #expect(canopy.serverLog.contains("builds could read it"))
        #expect(try canopy.get("b.test", "/defaced.txt").status == 404)
        #expect(try canopy.get("a.test").text == "<p>site a</p>\n")
        let pid = try #require(
            Int32(try canopy.get("b.test", "/pid.txt").text.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(processIsGone(pid), "site b's detached process \(pid) outlived its build")
        if !processIsGone(pid) { kill(pid, SIGKILL) }
    }
}

extension BuildIsolationEndToEndTests {
    /// Issue #13: a build's `.git` takes its objects from the branch's object store (kept between
    /// builds), through `objects/info/alternates`. A build that runs as another user reads them
    /// (`git rev-parse`, `git log`, `git status`, a file's history) but can write neither the store
    /// nor the site's repository, on the first build and on the next, which reuses the store.
    @Test(.enabled(if: getuid() == 0)) func aBuildUserReadsItsGitButCannotWriteTheObjectsItComesFrom() async throws {
        let canopy = try CanopyInstance("isolation-git")
        let repo = try SiteRepository(in: canopy, template: nil)
        try canopy.writeSite("site", "repository: ../repos/site.git\nbranches:\n  main: { domains: [site.test] }\n")
        chmod(canopy.root, 0o755)
        try await canopy.start(extraArguments: ["--build-user", "nobody", "--build-folder", canopy.root + "/builds"])
        try repo.write(
            "amplify.yml",
            Self.amplify([
                "changes=$(git status --porcelain) && mkdir -p dist && printf %s \"$changes\" > dist/status",
                "git rev-parse HEAD > dist/head",
                "git log -1 --format=%s -- page.html > dist/subject && id -u > dist/uid",
                "objects=$(cat .git/objects/info/alternates) && echo \"$objects\" > dist/objects",
                "if touch \"$objects/planted\" || mkdir \"$objects/ff\" || touch \"$objects/../HEAD\"; then touch dist/planted; fi",
                "if touch \(repo.bare)/objects/planted; then touch dist/planted-site; fi",
            ]))
        for round in 1...2 {
            try repo.write("page.html", "<p>round \(round)</p>\n")
            let commit = try repo.commit("Round \(round)")
            try repo.push("main")
            let build = try await waitForBuild(canopy, commit: commit, status: "succeeded")
            let log = try buildLog(canopy, build)
            #expect(
                log.contains(round == 1 ? "Made .git (fetched the commit)" : "Made .git from the kept objects"),
                "\(log)")
            #expect(try canopy.get("site.test", "/head").text == commit + "\n", "\(log)")
            #expect(try canopy.get("site.test", "/status").text == "")
            #expect(try canopy.get("site.test", "/subject").text == "Round \(round)\n")
            #expect(try canopy.get("site.test", "/uid").text != "0\n")
            #expect(try canopy.get("site.test", "/planted").status == 404)
            #expect(try canopy.get("site.test", "/planted-site").status == 404)
            #expect(!(try canopy.get("site.test", "/objects").text.contains(repo.bare)))
        }
        #expect(!FileManager.default.fileExists(atPath: repo.bare + "/objects/planted"))
    }
}

/// True when `pid` no longer runs (gone, or a zombie waiting for its reaper).
private func processIsGone(_ pid: Int32) -> Bool {
    if kill(pid, 0) != 0 { return true }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return true }
    return stat[stat.index(close, offsetBy: 2)] == "Z"
}
