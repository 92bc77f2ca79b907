import CanopyGit
import CanopyTestSupport
import Foundation
import Testing

@testable import CanopyControl

/// Builds get a `.git` (issue #13: "a shallow clone of the commit, its branch checked out, so that
/// `git rev-parse`, `git log` and Hugo's `enableGitInfo` work as on Amplify"), made at the cost of
/// what changed: the branch's object store is kept between builds and takes only the new commit's
/// objects; the `.git` is written afresh with an index whose stat data matches the checkout.
/// Real repositories, real libgit2 checkouts, the real `git` reading the result.
@Suite struct BuildGitDirectoryTests {
    static let isRoot = getuid() == 0

    /// `git` in `folder` with no user or system configuration; its trimmed output.
    @discardableResult
    static func git(
        _ folder: String, _ arguments: String..., as user: (uid: UInt32, gid: UInt32)? = nil
    ) throws
        -> String
    {
        let drop = user.map { ["setpriv", "--reuid=\($0.uid)", "--regid=\($0.gid)", "--clear-groups", "--"] } ?? []
        return try sh(
            drop + ["git", "-C", folder] + arguments,
            environment: ["GIT_CONFIG_GLOBAL": "/dev/null", "HOME": "/nonexistent"]
        ).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A repository with a first commit of `files` files in folders, a script and a link.
    static func repository(_ tmp: TempFolder, files: Int = 30) throws -> (path: String, commit: String) {
        let work = tmp.path + "/repo"
        try sh(["git", "init", "-q", "-b", "main", work])
        for page in 0..<files { try tmp.write("repo/section-\(page / 10)/page-\(page).html", "<p>page \(page)</p>\n") }
        try tmp.write("repo/build.sh", "#!/bin/sh\necho build\n")
        try sh(["chmod", "755", work + "/build.sh"])
        try sh(["ln", "-s", "section-0/page-0.html", work + "/index.html"])
        try sh(["git", "-C", work, "add", "-A"])
        try sh(["git", "-C", work, "commit", "-qm", "First commit"])
        return (work, try git(work, "rev-parse", "HEAD"))
    }

    /// Both ways to a fresh store: `git fetch`, or libgit2 copying object by object without git.
    @Test(arguments: [true, false])
    func theCheckoutsGitIsAShallowCloneOfTheCommitWithItsBranchCheckedOut(fetched: Bool) throws {
        let tmp = try TempFolder("buildgit")
        let (work, first) = try Self.repository(tmp)
        try sh(["git", "-C", work, "commit", "-q", "--allow-empty", "-m", "Later"])
        let repository = try GitRepository.open(work)
        let source = tmp.path + "/workspace/src"
        try repository.checkout(commit: first, into: source)

        var maker = BuildGitDirectory(repository: repository, store: tmp.path + "/workspace/git", checkout: source)
        if !fetched { maker.git = nil }
        let outcome = try maker.make(
            commit: first, branch: "dev", remoteURL: "https://git.example.com/site.git", storeAdded: nil)
        #expect(outcome.fresh)
        #expect(outcome.fetchProblem == (fetched ? nil : "git is not installed"))
        // Copied: 30 pages, the script and the link, 3 folders, the root and the commit.
        #expect(outcome.copied == (fetched ? 0 : 30 + 2 + 3 + 1 + 1))

        #expect(try Self.git(source, "rev-parse", "HEAD") == first)
        #expect(try Self.git(source, "rev-parse", "--abbrev-ref", "HEAD") == "dev")
        #expect(try Self.git(source, "log", "-1", "--format=%s") == "First commit")
        #expect(try Self.git(source, "log", "--format=%H") == first, "shallow: the commit alone")
        #expect(try Self.git(source, "remote", "get-url", "origin") == "https://git.example.com/site.git")
        #expect(try Self.git(source, "show", "HEAD:section-2/page-25.html") == "<p>page 25</p>")
        // What Hugo's enableGitInfo runs: every file with the commit that last changed it.
        let names = try Self.git(source, "log", "--name-only", "--no-merges", "--format=%H")
        #expect(names.contains("section-2/page-25.html"))
        // No entry differs from its file by stat data (diff-files does not hash), and none is dirty.
        #expect(try Self.git(source, "diff-files", "--name-only") == "")
        #expect(try Self.git(source, "status", "--porcelain") == "")
        try Self.git(source, "fsck", "--connectivity-only", "--no-progress")
    }

    @Test func aKeptStoreTakesOnlyTheNewCommitsObjectsAndTheNewGitAnswersForTheNewCommit() throws {
        let tmp = try TempFolder("buildgit")
        let (work, first) = try Self.repository(tmp)
        let repository = try GitRepository.open(work)
        let trees = WarmTrees(root: tmp.path + "/warm")
        trees.clear()
        let key = EnvironmentKey(site: "site", branch: "main")

        let one = tmp.path + "/build1"
        try FileManager.default.createDirectory(atPath: one + "/src", withIntermediateDirectories: true)
        let checkout = try WorkTreeCheckout(
            repository: repository, commit: first, directory: one + "/src", trash: trees.trash
        )
        .run(reusing: nil)
        let made = try BuildGitDirectory(repository: repository, store: one + "/git", checkout: one + "/src")
            .make(commit: first, branch: "main", remoteURL: "", storeAdded: nil, stats: checkout.stats)
        // What a build may do to its .git and tree: a commit of its own, a tag, an untracked file.
        try tmp.write("build1/src/dist/index.html", "<p>built</p>")
        try Self.git(
            one + "/src", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "--allow-empty", "-m",
            "by the build")
        try Self.git(one + "/src", "tag", "built")
        trees.checkedOut(build: "b1", commit: first, files: checkout.files, storeAdded: made.storeAdded)
        #expect(
            trees.keep(build: "b1", key: key, source: one + "/src", store: one + "/git", artifacts: nil, reusable: true)
                .isEmpty)

        try tmp.write("repo/section-1/page-12.html", "<p>page 12, changed</p>\n")
        try sh(["git", "-C", work, "commit", "-qam", "Second commit"])
        let second = try Self.git(work, "rev-parse", "HEAD")

        let warm = try #require(trees.take(key))
        let kept = try #require(warm.store, "the store is kept with the tree")
        let two = tmp.path + "/build2"
        try FileManager.default.createDirectory(atPath: two, withIntermediateDirectories: true)
        #expect(rename(kept.path, two + "/git") == 0)
        let reused = try WorkTreeCheckout(
            repository: repository, commit: second, directory: two + "/src", trash: trees.trash
        )
        .run(reusing: warm)
        let again = try BuildGitDirectory(repository: repository, store: two + "/git", checkout: two + "/src")
            .make(commit: second, branch: "main", remoteURL: "", storeAdded: kept.added, stats: reused.stats)
        #expect(!again.fresh)
        #expect(again.copied == 4, "the page, its folder, the root tree and the commit")
        #expect(again.storeAdded == 4)

        let source = two + "/src"
        #expect(try Self.git(source, "rev-parse", "HEAD") == second)
        #expect(try Self.git(source, "log", "-1", "--format=%s") == "Second commit")
        #expect(try Self.git(source, "log", "--format=%H") == second, "shallow: the new commit alone")
        #expect(try Self.git(source, "show", "HEAD:section-1/page-12.html") == "<p>page 12, changed</p>")
        #expect(try Self.git(source, "tag") == "", "the last build's .git is gone")
        #expect(try Self.git(source, "diff-files", "--name-only") == "")
        #expect(try Self.git(source, "status", "--porcelain") == "")
        try Self.git(source, "fsck", "--connectivity-only", "--no-progress")
    }

    /// A build that runs as another user reads the store through its `.git` but can write neither
    /// the store nor the site's repository (which the `.git` never names).
    @Test(.enabled(if: isRoot)) func aBuildUserReadsTheStoreButCannotWriteItNorTheSiteRepository() throws {
        let tmp = try TempFolder("buildgit")
        let (work, first) = try Self.repository(tmp)
        let repository = try GitRepository.open(work)
        // As the orchestrator lays out a build user's workspace: passable for its group alone.
        let workspace = tmp.path + "/workspace"
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        let user = (uid: UInt32(65534), gid: UInt32(65534))
        chown(workspace, 0, user.gid)
        chmod(workspace, 0o710)
        let source = workspace + "/src"
        let store = workspace + "/git"
        try repository.checkout(commit: first, into: source)
        _ = try BuildGitDirectory(repository: repository, store: store, checkout: source)
            .make(commit: first, branch: "main", remoteURL: "", storeAdded: nil)
        try sh(["chown", "-R", "\(user.uid):\(user.gid)", source])
        func listing(_ folder: String) throws -> String { try sh(["find", folder, "-printf", "%p %s %m %U\n"]) }
        let (repositoryBefore, storeBefore) = (try listing(work + "/.git"), try listing(store))

        #expect(try Self.git(source, "rev-parse", "HEAD", as: user) == first)
        #expect(try Self.git(source, "status", "--porcelain", as: user) == "")
        #expect(try Self.git(source, "show", "HEAD:section-0/page-3.html", as: user) == "<p>page 3</p>")
        let alternates = try String(contentsOfFile: source + "/.git/objects/info/alternates", encoding: .utf8)
        #expect(!alternates.contains(work))
        // Its own objects go into its own .git; the store's folders refuse it.
        let written = try sh([
            "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", "sh", "-c",
            "cd \(source) && echo mine | git hash-object -w --stdin",
        ]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(
            FileManager.default.fileExists(
                atPath: source + "/.git/objects/\(written.prefix(2))/\(written.dropFirst(2))"))
        for attempt in [
            "touch \(store)/objects/planted", "mkdir \(store)/objects/ff", "touch \(store)/HEAD",
            "touch \(store)/objects/\(first.prefix(2))/planted",
            "git --git-dir=\(store) hash-object -w --stdin </etc/hostname",
            "git --git-dir=\(store) update-ref refs/heads/planted HEAD",
        ] {
            let result = try runProcess(
                ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", "sh", "-c", attempt],
                environment: ["HOME": "/nonexistent", "GIT_CONFIG_GLOBAL": "/dev/null"])
            #expect(result.status != 0, "the build user could: \(attempt)")
        }
        #expect(try listing(store) == storeBefore)
        #expect(try listing(work + "/.git") == repositoryBefore)
    }
}
