import CGit2
import Foundation

extension GitRepository {
    /// The paths whose entry differs between the trees of two commits (added, deleted, modified,
    /// or with another mode), as `/`-separated paths from the root; a rename is its two paths.
    public func changedPaths(from old: String, to new: String) throws -> [String] {
        let oldTree = try tree(of: old)
        defer { git_tree_free(oldTree) }
        let newTree = try tree(of: new)
        defer { git_tree_free(newTree) }
        var options = git_diff_options()
        try LibGit2.check(
            git_diff_options_init(&options, UInt32(GIT_DIFF_OPTIONS_VERSION)), "diff options", repository: path)
        options.flags |= GIT_DIFF_INCLUDE_TYPECHANGE.rawValue
        var diff: OpaquePointer?
        try LibGit2.check(
            git_diff_tree_to_tree(&diff, handle, oldTree, newTree, &options),
            "compare \(old.prefix(7)) with \(new.prefix(7))", repository: path)
        defer { git_diff_free(diff) }
        var paths: [String] = []
        for index in 0..<git_diff_num_deltas(diff) {
            guard let delta = git_diff_get_delta(diff, index)?.pointee else { continue }
            for file in [delta.old_file, delta.new_file] {
                guard let name = file.path else { continue }
                let path = String(cString: name)
                if paths.last != path { paths.append(path) }
            }
        }
        return paths
    }

    /// Checks out only `paths` of `commit` into `directory` (a work tree made by
    /// ``checkout(commit:into:)``), writing each as a full checkout would (modes, links, filters).
    /// Paths the commit does not have are left alone: remove them first.
    public func checkout(commit oid: String, into directory: String, paths: [String]) throws {
        guard !paths.isEmpty else { return }
        try writeTree(of: oid, into: directory, paths: paths)
    }

    /// Writes the tree of `oid` (only `paths` of it, when given) into `directory`, forcing, without
    /// an index: the one checkout both a full and a partial one are.
    func writeTree(of oid: String, into directory: String, paths: [String]?) throws {
        let tree = try tree(of: oid)
        defer { git_tree_free(tree) }
        var options = git_checkout_options()
        try LibGit2.check(
            git_checkout_options_init(&options, UInt32(GIT_CHECKOUT_OPTIONS_VERSION)), "checkout options",
            repository: path)
        options.checkout_strategy =
            GIT_CHECKOUT_FORCE.rawValue | GIT_CHECKOUT_DONT_UPDATE_INDEX.rawValue
            | GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH.rawValue
        let run = { (options: inout git_checkout_options) -> Int32 in
            directory.withCString { target in
                options.target_directory = target
                return git_checkout_tree(self.handle, tree, &options)
            }
        }
        let code =
            paths.map { paths in
                withStrArray(paths) { array in
                    options.paths = array
                    return run(&options)
                }
            } ?? run(&options)
        let what = paths.map { "\($0.count) paths of \(oid.prefix(7))" } ?? String(oid.prefix(7))
        try LibGit2.check(code, "check out \(what) into \(directory)", repository: path)
    }

    /// The tree of a commit; the caller frees it.
    func tree(of oid: String) throws -> OpaquePointer? {
        var id = git_oid()
        try LibGit2.check(git_oid_fromstr(&id, oid), "parse commit id \(oid)", repository: path)
        var commit: OpaquePointer?
        try LibGit2.check(git_commit_lookup(&commit, handle, &id), "find commit \(oid)", repository: path)
        defer { git_commit_free(commit) }
        var tree: OpaquePointer?
        try LibGit2.check(git_commit_tree(&tree, commit), "read the tree of \(oid)", repository: path)
        return tree
    }
}
