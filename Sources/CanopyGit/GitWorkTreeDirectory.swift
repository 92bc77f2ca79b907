import CGit2
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Makes a work tree's `.git` as a shallow clone of one commit has it (the branch checked out,
/// `shallow` naming the commit, an `origin` remote), without copying an object: the objects come
/// from another repository's object folder (`objects/info/alternates`), and the index is written
/// from the commit's tree with each entry's stat data read from the work tree, which must be a
/// checkout of that commit. Nothing is hashed: `git status` finds the files clean by their stat data.
public enum GitWorkTreeDirectory {
    /// Writes `workTree/.git` (replacing one that is there). `objects` is the object folder that has
    /// every object of `commit`; `stats` the `lstat` of the work tree's files as the checkout left
    /// them, by path (a file not there is looked up). Throws, leaving no `.git`, when a step fails.
    public static func make(
        in workTree: String, commit: String, branch: String, objects: String, remoteURL: String?,
        stats: [String: stat] = [:]
    ) throws {
        _ = LibGit2.initialised
        let gitDir = workTree + "/.git"
        try? FileManager.default.removeItem(atPath: gitDir)
        do {
            try writeFiles(gitDir: gitDir, commit: commit, branch: branch, objects: objects)
            var handle: OpaquePointer?
            try LibGit2.check(
                git_repository_open_ext(&handle, gitDir, UInt32(GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue), nil),
                "open", repository: gitDir)
            let repository = GitRepository(handle: handle!, path: gitDir)
            try repository.setUp(
                commit: commit, branch: branch, remoteURL: remoteURL, workTree: workTree, stats: stats)
        } catch {
            try? FileManager.default.removeItem(atPath: gitDir)
            throw error
        }
    }

    private static func writeFiles(gitDir: String, commit: String, branch: String, objects: String) throws {
        let fm = FileManager.default
        for folder in ["objects/info", "objects/pack", "refs/heads", "refs/tags", "info"] {
            try fm.createDirectory(atPath: gitDir + "/" + folder, withIntermediateDirectories: true)
        }
        let files = [
            "HEAD": "ref: refs/heads/\(branch)\n",
            "shallow": commit + "\n",
            "objects/info/alternates": objects + "\n",
            "config": "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n"
                + "\tlogallrefupdates = true\n",
        ]
        for (name, text) in files {
            guard fm.createFile(atPath: gitDir + "/" + name, contents: Data(text.utf8)) else {
                throw GitError(operation: "write .git/\(name)", repository: gitDir, code: -1, message: "cannot write")
            }
        }
    }
}

extension GitRepository {
    /// The branch's ref, the remote, and the index of the freshly written `.git`.
    fileprivate func setUp(
        commit: String, branch: String, remoteURL: String?, workTree: String, stats: [String: stat]
    ) throws {
        var id = git_oid()
        try LibGit2.check(git_oid_fromstr(&id, commit), "parse commit id \(commit)", repository: path)
        var reference: OpaquePointer?
        try LibGit2.check(
            git_reference_create(&reference, handle, "refs/heads/" + branch, &id, 1, nil),
            "create branch \(branch)", repository: path)
        git_reference_free(reference)
        if let remoteURL, !remoteURL.isEmpty {
            var remote: OpaquePointer?
            try LibGit2.check(git_remote_create(&remote, handle, "origin", remoteURL), "add remote", repository: path)
            git_remote_free(remote)
        }
        try writeIndex(commit: commit, workTree: workTree, stats: stats)
    }

    /// The index of `commit`'s tree, each file's entry with the stat data of its file in `workTree`
    /// (taken as the commit's content: the caller has just checked it out there).
    fileprivate func writeIndex(commit: String, workTree: String, stats: [String: stat]) throws {
        let tree = try tree(of: commit)
        defer { git_tree_free(tree) }
        var index: OpaquePointer?
        try LibGit2.check(git_repository_index(&index, handle), "open the index", repository: path)
        defer { git_index_free(index) }
        try LibGit2.check(git_index_read_tree(index, tree), "read \(commit.prefix(7)) into the index", repository: path)
        for position in 0..<git_index_entrycount(index) {
            guard var entry = git_index_get_byindex(index, position)?.pointee else { continue }
            let path = String(cString: entry.path)
            var info = stats[path] ?? stat()
            guard stats[path] != nil || lstat(workTree + "/" + path, &info) == 0 else { continue }
            let kind = info.st_mode & S_IFMT
            guard entry.mode == 0o120000 ? kind == S_IFLNK : kind == S_IFREG else { continue }
            entry.ctime = git_index_time(
                seconds: Int32(truncatingIfNeeded: info.st_ctim.tv_sec), nanoseconds: UInt32(info.st_ctim.tv_nsec))
            entry.mtime = git_index_time(
                seconds: Int32(truncatingIfNeeded: info.st_mtim.tv_sec), nanoseconds: UInt32(info.st_mtim.tv_nsec))
            entry.dev = UInt32(truncatingIfNeeded: info.st_dev)
            entry.ino = UInt32(truncatingIfNeeded: info.st_ino)
            entry.uid = info.st_uid
            entry.gid = info.st_gid
            entry.file_size = UInt32(truncatingIfNeeded: info.st_size)
            try LibGit2.check(git_index_add(index, &entry), "add \(String(cString: entry.path))", repository: path)
        }
        try LibGit2.check(git_index_write(index), "write the index", repository: path)
    }
}
