import CanopyGit
import CanopyTestSupport
import Foundation
import Testing

@testable import CanopyControl

/// A branch's next checkout reuses its previous work tree (issue #13: "reuse the previous build's
/// work tree of that branch where it is safe (a clean checkout of only the changed paths)"): the
/// result must be exactly a fresh checkout of the new commit, whatever the previous build did to
/// the tree, having written only what differs. Real git repositories, real libgit2 checkouts.
@Suite struct WorkTreeCheckoutTests {
    /// Every entry below `root` with what it is: a file's content and mode, a link's target.
    func listing(_ root: String) throws -> [String: String] {
        var entries: [String: String] = [:]
        try WorkTreeCheckout.walk(root, "") { path, info in
            let full = root + "/" + path
            if info.st_mode & S_IFMT == S_IFLNK {
                entries[path] = "link → " + ((try? FileManager.default.destinationOfSymbolicLink(atPath: full)) ?? "?")
            } else {
                let text = (try? String(contentsOfFile: full, encoding: .utf8)) ?? "?"
                entries[path] = String(format: "%o ", info.st_mode & 0o777) + text
            }
        }
        return entries
    }

    @Test func reusedTreeEqualsAFreshCheckoutAfterWhateverTheBuildDid() throws {
        let tmp = try TempFolder("worktree")
        let work = tmp.path + "/repo"
        try sh(["git", "init", "-q", "-b", "main", work])
        try tmp.write("repo/index.html", "<p>one</p>")
        try tmp.write("repo/docs/guide.html", "<p>guide</p>")
        try tmp.write("repo/docs/old/page.html", "<p>old</p>")
        try tmp.write("repo/build.sh", "#!/bin/sh\necho build\n")
        try sh(["chmod", "755", work + "/build.sh"])
        try sh(["ln", "-s", "index.html", work + "/home.html"])
        for page in 0..<50 { try tmp.write("repo/pages/p\(page).html", "<p>page \(page)</p>") }
        try sh(["git", "-C", work, "add", "-A"])
        try sh(["git", "-C", work, "commit", "-qm", "one"])
        let first = try sh(["git", "-C", work, "rev-parse", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines)

        // The second commit: a changed file, a removed folder, a new one, a mode and a link changed.
        try tmp.write("repo/index.html", "<p>two</p>")
        try sh(["git", "-C", work, "rm", "-rq", "docs/old"])
        try tmp.write("repo/blog/post.html", "<p>post</p>")
        try sh(["chmod", "644", work + "/build.sh"])
        try sh(["ln", "-sfn", "docs/guide.html", work + "/home.html"])
        try sh(["git", "-C", work, "add", "-A"])
        try sh(["git", "-C", work, "commit", "-qm", "two"])
        let second = try sh(["git", "-C", work, "rev-parse", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let repository = try GitRepository.open(work)

        let trees = WarmTrees(root: tmp.path + "/warm")
        trees.clear()
        let previous = tmp.path + "/build1"
        try FileManager.default.createDirectory(atPath: previous, withIntermediateDirectories: true)
        let one = try WorkTreeCheckout(repository: repository, commit: first, directory: previous, trash: trees.trash)
            .run(reusing: nil)
        #expect(one.reused == nil)
        #expect(one.files.count == 55)

        // What a build does to its checkout: outputs, dependencies, a .git, edits, a file replaced
        // by a link to a file outside, a removed file.
        try tmp.write("build1/node_modules/pkg/index.js", "module.exports = 1")
        try tmp.write("build1/dist/index.html", "<p>built</p>")
        try tmp.write("build1/.git/HEAD", "ref: refs/heads/main")
        try tmp.write("build1/pages/p3.html", "<p>edited by the build</p>")
        try tmp.write("build1/stray.txt", "made by the build")
        let outside = try tmp.write("outside.txt", "not the build's")
        try FileManager.default.removeItem(atPath: previous + "/pages/p4.html")
        try sh(["ln", "-s", outside, previous + "/pages/p4.html"])
        try FileManager.default.removeItem(atPath: previous + "/pages/p5.html")

        let key = EnvironmentKey(site: "site", branch: "main")
        trees.checkedOut(build: "b1", commit: first, files: one.files, storeAdded: nil)
        // It had no object store: the folder one would be in goes, if there is one.
        let unused = trees.keep(
            build: "b1", key: key, source: previous, store: tmp.path + "/store", artifacts: nil, reusable: true)
        #expect(unused == [tmp.path + "/store"])
        let warm = try #require(trees.take(key))

        let next = tmp.path + "/build2"
        try FileManager.default.createDirectory(atPath: next, withIntermediateDirectories: true)
        let two = try WorkTreeCheckout(repository: repository, commit: second, directory: next, trash: trees.trash)
            .run(reusing: warm)
        let reused = try #require(two.reused, "the previous tree is reused: \(two.fallback ?? "")")
        #expect(reused.commit == first)
        // index.html, docs/old/page.html, blog/post.html, build.sh, home.html; p3, p4, p5.
        #expect(reused.written == 8)

        let fresh = tmp.path + "/fresh"
        try FileManager.default.createDirectory(atPath: fresh, withIntermediateDirectories: true)
        try repository.checkout(commit: second, into: fresh)
        let expected = try listing(fresh)
        #expect(try listing(next) == expected)
        #expect(!FileManager.default.fileExists(atPath: next + "/docs/old"), "a folder the commit emptied is gone")
        #expect(try String(contentsOfFile: outside, encoding: .utf8) == "not the build's")
        #expect(two.files.count == expected.count)
        #expect(Set(two.files.keys) == Set(expected.keys))
        trees.emptyTrash()
        #expect(try FileManager.default.contentsOfDirectory(atPath: trees.trash).isEmpty)
    }
}
