import CGit2
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension GitRepository {
    /// The repository's git folder, absolute (a bare repository's own folder).
    public var gitDirectory: String {
        let path = String(cString: git_repository_path(handle))
        return path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    // MARK: Copying objects

    /// Copies into `store` every object of commit `oid` (the commit, its tree and all below it) that
    /// `store` lacks, each tree's entries before the tree, the tree before the commit: a tree found
    /// in `store` then has everything it reaches, so it is not descended into, and a one-file
    /// change copies the file, the trees above it and the commit. Submodule commits are skipped.
    /// Objects are written loose and readable by all (0444, folders 0755), whatever the umask.
    /// Returns how many objects were written.
    public func copyObjects(of oid: String, to store: GitRepository) throws -> Int {
        let copier = try ObjectCopier(from: self, to: store)
        var id = git_oid()
        try LibGit2.check(git_oid_fromstr(&id, oid), "parse commit id \(oid)", repository: path)
        if copier.has(&id) { return 0 }
        var commit: OpaquePointer?
        try LibGit2.check(git_commit_lookup(&commit, handle, &id), "find commit \(oid)", repository: path)
        defer { git_commit_free(commit) }
        var tree = git_commit_tree_id(commit).pointee
        try copier.copyTree(&tree)
        try copier.copy(&id)
        return copier.written
    }
}

/// One `copyObjects` run: both object databases open (freed with it), and the folders already
/// made readable.
private final class ObjectCopier {
    let source: GitRepository
    let store: GitRepository
    let from: OpaquePointer
    let to: OpaquePointer
    let objects: String
    var written = 0
    var folders: Set<String> = []

    init(from source: GitRepository, to store: GitRepository) throws {
        self.source = source
        self.store = store
        var from: OpaquePointer?
        try LibGit2.check(git_repository_odb(&from, source.handle), "open objects", repository: source.path)
        var to: OpaquePointer?
        do {
            try LibGit2.check(git_repository_odb(&to, store.handle), "open objects", repository: store.path)
        } catch {
            git_odb_free(from)
            throw error
        }
        self.from = from!
        self.to = to!
        objects = String(cString: git_repository_path(store.handle)) + "objects"
    }

    deinit {
        git_odb_free(from)
        git_odb_free(to)
    }

    func has(_ id: inout git_oid) -> Bool { git_odb_exists(to, &id) == 1 }

    func copyTree(_ id: inout git_oid) throws {
        if has(&id) { return }
        var tree: OpaquePointer?
        try LibGit2.check(git_tree_lookup(&tree, source.handle, &id), "read a tree", repository: source.path)
        defer { git_tree_free(tree) }
        for index in 0..<git_tree_entrycount(tree) {
            guard let entry = git_tree_entry_byindex(tree, index) else { continue }
            var child = git_tree_entry_id(entry).pointee
            switch git_tree_entry_type(entry) {
            case GIT_OBJECT_TREE: try copyTree(&child)
            case GIT_OBJECT_BLOB: if !has(&child) { try copy(&child) }
            default: continue
            }
        }
        try copy(&id)
    }

    func copy(_ id: inout git_oid) throws {
        var object: OpaquePointer?
        try LibGit2.check(git_odb_read(&object, from, &id), "read an object", repository: source.path)
        defer { git_odb_object_free(object) }
        var written = git_oid()
        try LibGit2.check(
            git_odb_write(
                &written, to, git_odb_object_data(object), git_odb_object_size(object), git_odb_object_type(object)),
            "write an object", repository: store.path)
        let hex = GitRepository.hex(&written)
        let folder = objects + "/" + hex.prefix(2)
        if folders.insert(folder).inserted { chmod(folder, 0o755) }
        chmod(folder + "/" + hex.dropFirst(2), 0o444)
        self.written += 1
    }
}
