import Foundation

/// A bare repository made with `canopy repo init` (so its post-receive hook is the product's) and a
/// work clone to commit and push from, with the real `git` CLI.
final class SiteRepository: @unchecked Sendable {
    // @unchecked: one test drives it at a time.
    let bare: String
    let work: String

    /// Creates the bare repository for `instance` and a work tree seeded from `template` (a folder).
    /// With `plain`, the bare repository is made with `git init --bare` instead: no Canopy hook.
    init(
        in instance: CanopyInstance, name: String = "site", template: String? = packageRoot + "/amplify-sample",
        plain: Bool = false
    ) throws {
        bare = instance.root + "/repos/\(name).git"
        work = instance.root + "/work-\(name)"
        if plain {
            try sh(["git", "init", "-q", "--bare", "-b", "main", bare])
        } else {
            try sh([canopyBinary, "repo", "init", bare, "--data", instance.data])
        }
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        if let template {
            try sh(["cp", "-R", template + "/.", work])
            for junk in ["dist", "reports", ".cache"] { try? FileManager.default.removeItem(atPath: work + "/" + junk) }
        }
        try git("init", "-q", "-b", "main")
        try git("remote", "add", "origin", bare)
    }

    @discardableResult
    func git(_ arguments: String...) throws -> String {
        try sh(["git", "-C", work] + arguments)
    }

    func write(_ path: String, _ content: String) throws {
        let full = work + "/" + path
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try content.write(toFile: full, atomically: true, encoding: .utf8)
    }

    func read(_ path: String) throws -> String {
        try String(contentsOfFile: work + "/" + path, encoding: .utf8)
    }

    /// Replaces `old` with `new` in a file of the work tree.
    func edit(_ path: String, replacing old: String, with new: String) throws {
        try write(path, try read(path).replacingOccurrences(of: old, with: new))
    }

    /// Commits everything and returns the commit id.
    @discardableResult
    func commit(_ message: String) throws -> String {
        try git("add", "-A")
        try git("commit", "-q", "--allow-empty", "-m", message)
        return try git("rev-parse", "HEAD").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func push(_ branch: String, force: Bool = false) throws {
        try git("push", "-q", force ? "-f" : "-q", "origin", "HEAD:refs/heads/\(branch)")
    }

    func checkout(_ branch: String, create: Bool = false) throws {
        if create { try git("checkout", "-q", "-b", branch) } else { try git("checkout", "-q", branch) }
    }

    func deleteRemoteBranch(_ branch: String) throws {
        try git("push", "-q", "origin", "--delete", branch)
    }
}
