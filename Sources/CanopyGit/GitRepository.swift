import CGit2
import Foundation

/// One libgit2 repository handle, freed when this object goes away.
///
/// Every method blocks: call them off the event loops and off the cooperative pool. A handle is not
/// safe for concurrent use, so it is not `Sendable`: open one per piece of work (opening is cheap).
public final class GitRepository {
    let handle: OpaquePointer
    public let path: String
    /// References the last `refs(matching:)` (or `branches()`) skipped because their names are not
    /// UTF-8, with the bad bytes shown as `\xNN`: no hostname or URL can name them.
    public private(set) var skippedRefNames: [String] = []

    init(handle: OpaquePointer, path: String) {
        self.handle = handle
        self.path = path
    }

    deinit {
        git_repository_free(handle)
    }

    /// Opens a repository (bare or not) at `path`.
    public static func open(_ path: String) throws -> GitRepository {
        _ = LibGit2.initialised
        var handle: OpaquePointer?
        try LibGit2.check(
            git_repository_open_ext(&handle, path, UInt32(GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue), nil), "open",
            repository: path)
        return GitRepository(handle: handle!, path: path)
    }

    /// Creates a bare repository at `path` (its folders too), with `main` as the initial branch.
    public static func initBare(at path: String) throws -> GitRepository {
        _ = LibGit2.initialised
        var options = git_repository_init_options()
        try LibGit2.check(
            git_repository_init_options_init(&options, UInt32(GIT_REPOSITORY_INIT_OPTIONS_VERSION)), "init options",
            repository: path)
        options.flags = UInt32(GIT_REPOSITORY_INIT_BARE.rawValue | GIT_REPOSITORY_INIT_MKPATH.rawValue)
        var handle: OpaquePointer?
        let code = "main".withCString { head in
            options.initial_head = head
            return git_repository_init_ext(&handle, path, &options)
        }
        try LibGit2.check(code, "init --bare", repository: path)
        return GitRepository(handle: handle!, path: path)
    }

    /// The branch checked out in the work tree that contains `path` (searching upwards, as `git`
    /// does), also before its first commit; nil outside a repository or on a detached HEAD.
    public static func checkedOutBranch(near path: String) -> String? {
        _ = LibGit2.initialised
        var handle: OpaquePointer?
        guard git_repository_open_ext(&handle, path, 0, nil) == 0, let handle else { return nil }
        defer { git_repository_free(handle) }
        var head: OpaquePointer?
        guard git_reference_lookup(&head, handle, "HEAD") == 0, let head else { return nil }
        defer { git_reference_free(head) }
        guard let target = git_reference_symbolic_target(head).map({ String(cString: $0) }),
            target.hasPrefix("refs/heads/")
        else { return nil }
        return String(target.dropFirst("refs/heads/".count))
    }

    /// The commit checked out in the work tree that contains `path`; nil outside a repository or
    /// before its first commit.
    public static func headCommit(near path: String) -> String? {
        _ = LibGit2.initialised
        var handle: OpaquePointer?
        guard git_repository_open_ext(&handle, path, 0, nil) == 0, let handle else { return nil }
        defer { git_repository_free(handle) }
        var oid = git_oid()
        guard git_reference_name_to_id(&oid, handle, "HEAD") == 0 else { return nil }
        return withUnsafePointer(to: &oid) { hex($0) }
    }

    // MARK: Refs

    /// Local branches (`refs/heads/*`), sorted by name.
    public func branches() throws -> [GitRef] {
        try refs(matching: ["refs/heads/*"]).map { ref in
            var branch = ref
            branch.name = String(ref.fullName.dropFirst("refs/heads/".count))
            return branch
        }
    }

    /// References whose full names match any of the globs (`refs/pull/*/head`), peeled to commits,
    /// sorted by name. Symbolic references and references to non-commits are skipped.
    public func refs(matching globs: [String]) throws -> [GitRef] {
        var found: [String: GitRef] = [:]
        skippedRefNames = []
        for glob in globs {
            var iterator: OpaquePointer?
            try LibGit2.check(
                git_reference_iterator_glob_new(&iterator, handle, glob), "list refs \(glob)", repository: path)
            defer { git_reference_iterator_free(iterator) }
            var reference: OpaquePointer?
            while true {
                let code = git_reference_next(&reference, iterator)
                if code == GIT_ITEROVER.rawValue { break }
                try LibGit2.check(code, "list refs \(glob)", repository: path)
                defer { git_reference_free(reference) }
                guard let name = String(validatingCString: git_reference_name(reference)) else {
                    let bytes = Array(
                        UnsafeRawBufferPointer(
                            start: git_reference_name(reference), count: strlen(git_reference_name(reference))))
                    skippedRefNames.append(
                        bytes.map {
                            $0 < 0x80 && $0 >= 0x20 ? String(UnicodeScalar($0)) : String(format: "\\x%02x", $0)
                        }
                        .joined())
                    continue
                }
                var peeled: OpaquePointer?
                guard git_reference_peel(&peeled, reference, GIT_OBJECT_COMMIT) == 0 else { continue }
                defer { git_object_free(peeled) }
                found[name] = GitRef(name: name, fullName: name, commit: Self.hex(git_object_id(peeled)))
            }
        }
        return found.keys.sorted().map { found[$0]! }
    }

    // MARK: Commits

    /// The commit with id `oid` (40 hex digits).
    public func commit(_ oid: String) throws -> GitCommit {
        var id = git_oid()
        try LibGit2.check(git_oid_fromstr(&id, oid), "parse commit id \(oid)", repository: path)
        var commit: OpaquePointer?
        try LibGit2.check(git_commit_lookup(&commit, handle, &id), "find commit \(oid)", repository: path)
        defer { git_commit_free(commit) }
        let message = git_commit_message(commit).map { String(cString: $0) } ?? ""
        let summary = git_commit_summary(commit).map { String(cString: $0) } ?? ""
        let author = git_commit_author(commit)
        return GitCommit(
            oid: oid, message: message, summary: summary,
            authorName: author.flatMap { $0.pointee.name.map { String(cString: $0) } } ?? "",
            authorEmail: author.flatMap { $0.pointee.email.map { String(cString: $0) } } ?? "",
            time: Date(timeIntervalSince1970: TimeInterval(git_commit_time(commit))))
    }

    // MARK: Checkout

    /// Writes the tree of commit `oid` into `directory` (created if needed): regular files with their
    /// executable bit, symlinks as symlinks, submodules skipped. Works on bare repositories; the
    /// repository's index and HEAD are not touched, so builds of one repository can check out at once.
    public func checkout(commit oid: String, into directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try writeTree(of: oid, into: directory, paths: nil)
    }

    static func hex(_ oid: UnsafePointer<git_oid>?) -> String {
        guard let oid else { return "" }
        var buffer = [CChar](repeating: 0, count: 41)
        git_oid_tostr(&buffer, 41, oid)
        return String(decoding: buffer.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
