import CanopyTestSupport
import Foundation
import Testing

@testable import CanopyGit

/// Real repositories made with the git CLI in a temporary folder.
final class Fixture {
    let root: String
    let bare: String
    let work: String

    init() throws {
        root = try makeTemporaryDirectory("git")
        bare = root + "/remote.git"
        work = root + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        try run("git", "init", "-q", "--bare", "-b", "main", bare)
        try git("init", "-q", "-b", "main")
        try git("remote", "add", "origin", bare)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// Runs a command with a fixed author and committer; throws with its output when it fails.
    @discardableResult
    func run(_ args: String...) throws -> String {
        try run(args)
    }

    func run(_ args: [String]) throws -> String {
        let (status, data) = try runProcess(args, environment: gitIdentity)
        let out = String(decoding: data, as: UTF8.self)
        guard status == 0 else {
            throw GitError(operation: args.joined(separator: " "), repository: work, code: -1, message: out)
        }
        return out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `git -C <work tree> …`.
    @discardableResult
    func git(_ args: String...) throws -> String {
        try run(["git", "-C", work] + args)
    }

    func write(_ path: String, _ text: String) throws {
        let full = work + "/" + path
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: true, encoding: .utf8)
    }

    @discardableResult
    func commit(_ message: String) throws -> String {
        try git("add", "-A")
        try git("commit", "-q", "--allow-empty", "-m", message)
        return try git("rev-parse", "HEAD")
    }
}

struct GitRepositoryTests {
    @Test func branchesAndCommitsAreRead() throws {
        let f = try Fixture()
        try f.write("index.html", "hi")
        let c1 = try f.commit("First line\n\nBody text")
        try f.git("push", "-q", "origin", "main", "main:refs/heads/feature/Login_Page")
        let repo = try GitRepository.open(f.bare)
        let branches = try repo.branches()
        #expect(branches.map(\.name) == ["feature/Login_Page", "main"])
        #expect(branches.allSatisfy { $0.commit == c1 })
        #expect(branches.first?.fullName == "refs/heads/feature/Login_Page")
        let commit = try repo.commit(c1)
        #expect(commit.summary == "First line")
        #expect(commit.message.contains("Body text"))
        #expect(commit.authorEmail == "test@canopy.test")
        #expect(abs(commit.time.timeIntervalSinceNow) < 600)
    }

    /// Issue #15: a branch whose name is not UTF-8 was mangled into another name. It is skipped,
    /// and named (bytes escaped) so that the server can say so.
    @Test func aBranchNameThatIsNotUTF8IsSkippedAndNamed() throws {
        let f = try Fixture()
        try f.write("index.html", "hi")
        _ = try f.commit("one")
        try f.git("push", "-q", "origin", "main")
        try f.run("bash", "-c", "git -C \"\(f.bare)\" update-ref \"refs/heads/caf$(printf '\\351')\" main")
        let repo = try GitRepository.open(f.bare)
        #expect(try repo.branches().map(\.name) == ["main"])
        #expect(repo.skippedRefNames == ["refs/heads/caf\\xe9"])
    }

    @Test func checkoutWritesTheExactTreeFromABareRepository() throws {
        let f = try Fixture()
        try f.write("index.html", "<h1>hi</h1>")
        try f.write("nested/deep/page.html", "deep")
        try f.write("run.sh", "#!/bin/sh\necho ok\n")
        try f.run("chmod", "+x", f.work + "/run.sh")
        try f.run("ln", "-s", "index.html", f.work + "/link.html")
        let c = try f.commit("tree")
        try f.git("push", "-q", "origin", "main")
        let out = f.root + "/checkout"
        try GitRepository.open(f.bare).checkout(commit: c, into: out)
        #expect(try String(contentsOfFile: out + "/nested/deep/page.html", encoding: .utf8) == "deep")
        #expect(FileManager.default.isExecutableFile(atPath: out + "/run.sh"))
        #expect(!FileManager.default.isExecutableFile(atPath: out + "/index.html"))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: out + "/link.html") == "index.html")
        #expect(!FileManager.default.fileExists(atPath: out + "/.git"))
        // Two checkouts of one repository at once do not disturb each other.
        let second = f.root + "/checkout2"
        try GitRepository.open(f.bare).checkout(commit: c, into: second)
        #expect(FileManager.default.fileExists(atPath: second + "/index.html"))
    }

    @Test func fetchMirrorsBranchesAndPrunesDeletedOnes() throws {
        let f = try Fixture()
        try f.write("a", "1")
        let c1 = try f.commit("one")
        try f.git("push", "-q", "origin", "main", "main:refs/heads/dev", "main:refs/pull/7/head")
        let mirror = try GitRepository.initBare(at: f.root + "/mirror.git")
        let url = "file://" + f.bare
        let advertised = try mirror.fetch(
            remote: url, refspecs: ["+refs/heads/*:refs/heads/*", "+refs/pull/*/head:refs/pull/*/head"],
            credentials: nil)
        #expect(
            Set(advertised.map(\.fullName)).isSuperset(of: ["refs/heads/main", "refs/heads/dev", "refs/pull/7/head"]))
        #expect(try mirror.branches().map(\.name) == ["dev", "main"])
        #expect(try mirror.refs(matching: ["refs/pull/*/head"]).map(\.fullName) == ["refs/pull/7/head"])
        #expect(try mirror.commit(c1).summary == "one")

        try f.write("a", "2")
        let c2 = try f.commit("two")
        try f.git("push", "-q", "origin", "main")
        try f.git("push", "-q", "origin", "--delete", "dev")
        try mirror.fetch(remote: url, refspecs: ["+refs/heads/*:refs/heads/*"], credentials: nil)
        let branches = try mirror.branches()
        #expect(branches.map(\.name) == ["main"])
        #expect(branches.first?.commit == c2)
        let ls = try GitRepository.lsRemote(url: url, credentials: nil)
        #expect(ls.first { $0.fullName == "refs/heads/main" }?.commit == c2)
    }

    @Test func errorsSayWhatFailedWhere() throws {
        #expect {
            try GitRepository.open("/nonexistent/repo.git")
        } throws: { error in
            "\(error)".contains("/nonexistent/repo.git") && "\(error)".contains("open")
        }
        #expect {
            try GitRepository.lsRemote(
                url: "https://user:hunter2@127.0.0.1:1/x.git", credentials: GitCredentials(password: "hunter2"))
        } throws: { error in
            !"\(error)".contains("hunter2")
        }
    }

    @Test func thePostReceiveHookRunsOnARealPushAndNeverFailsIt() throws {
        let f = try Fixture()
        let marker = f.root + "/notified"
        try RepositoryHook.installPostReceive(in: f.bare, notifyCommand: "echo pushed > '\(marker)'\nexit 7")
        try f.write("a", "1")
        try f.commit("one")
        try f.git("push", "-q", "origin", "main")  // would throw if the hook failed the push
        #expect(try String(contentsOfFile: marker, encoding: .utf8) == "pushed\n")
    }
}

/// `canopy repo init` suggests pushing the branch the user has checked out (#14).
struct CheckedOutBranchTests {
    @Test func theBranchOfTheWorkTreeAroundAPathBeforeAndAfterItsFirstCommit() throws {
        let f = try Fixture()
        try f.git("checkout", "-q", "-b", "trunk")
        #expect(GitRepository.checkedOutBranch(near: f.work) == "trunk", "unborn: no commit yet")
        try FileManager.default.createDirectory(atPath: f.work + "/docs/deep", withIntermediateDirectories: true)
        try "x".write(toFile: f.work + "/docs/deep/a.md", atomically: true, encoding: .utf8)
        #expect(GitRepository.headCommit(near: f.work) == nil, "no commit yet")
        let first = try f.commit("first")
        #expect(GitRepository.checkedOutBranch(near: f.work + "/docs/deep") == "trunk", "found from a subfolder")
        #expect(GitRepository.headCommit(near: f.work + "/docs/deep") == first)
        try f.git("checkout", "-q", "--detach", first)
        #expect(GitRepository.checkedOutBranch(near: f.work) == nil, "a detached HEAD names no branch")
        #expect(GitRepository.checkedOutBranch(near: f.root) == nil, "outside any repository")
    }
}
