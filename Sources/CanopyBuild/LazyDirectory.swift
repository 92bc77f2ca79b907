import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A destination folder of a cache copy, opened (or created) only when something is written into it.
/// It is reached from its parent by descriptor with `O_NOFOLLOW`: an existing link is refused, never
/// written through, and an existing file is left as it is.
final class LazyDirectory {
    /// Why a folder cannot be written into.
    enum Refusal: Error {
        /// The path refused, for reporting each refusal once.
        var path: String {
            switch self {
            case .link(let path), .occupied(let path), .unwritable(let path): path
            case .failed(let error): error.path
            }
        }

        /// The name is a symbolic link (never followed).
        case link(String)
        /// Something other than a folder has the name (it stays).
        case occupied(String)
        /// The build user may not write here.
        case unwritable(String)
        case failed(SafeIOError)
    }

    /// Who created entries belong to, and who must be allowed to write where they are created.
    struct Policy {
        /// Created entries are given to this user (the build user, when the server is root).
        var owner: BuildUser?
        /// Entries are created only in folders this user may write to (absolute paths outside HOME).
        var writer: BuildUser?
    }

    private let parent: LazyDirectory?
    private let name: String
    private let policy: Policy
    /// The source folder's status: its mode and times are given to the folder when it is created.
    private let source: stat?
    private var state: Result<SafeDirectory, Refusal>?
    /// Whether this copy created the folder (so its contents are ours to fill).
    private(set) var created = false

    init(root: SafeDirectory, policy: Policy) {
        parent = nil
        name = ""
        self.policy = policy
        source = nil
        state = .success(root)
    }

    private init(parent: LazyDirectory, name: String, source: stat) {
        self.parent = parent
        self.name = name
        self.policy = parent.policy
        self.source = source
        state = nil
    }

    func child(_ name: String, source: stat) -> LazyDirectory {
        LazyDirectory(parent: self, name: name, source: source)
    }

    /// The open folder, creating it (and its parents) on first use.
    func get() -> Result<SafeDirectory, Refusal> {
        if let state { return state }
        let result = open()
        state = result
        return result
    }

    private func open() -> Result<SafeDirectory, Refusal> {
        guard let parent else { return .failure(.failed(SafeIOError("open", name, errno: ENOENT))) }
        let folder: SafeDirectory
        switch parent.get() {
        case .success(let opened): folder = opened
        case .failure(let refusal): return .failure(refusal)
        }
        if let existing = folder.entry(name) {
            switch existing.st_mode & S_IFMT {
            case S_IFDIR:
                do throws(SafeIOError) { return .success(try folder.openDirectory(name)) } catch {
                    return .failure(error.code == ELOOP ? .link(error.path) : .failed(error))
                }
            case S_IFLNK: return .failure(.link(folder.childPath(name)))
            default: return .failure(.occupied(folder.childPath(name)))
            }
        }
        if let refusal = parent.mayCreate() { return .failure(refusal) }
        do throws(SafeIOError) {
            let made = try folder.makeDirectory(name)
            created = true
            if let owner = policy.owner { _ = fchown(made.fd, owner.uid, owner.gid) }
            return .success(made)
        } catch {
            return .failure(error.code == EEXIST ? .occupied(error.path) : .failed(error))
        }
    }

    /// nil when a new entry may be created in this (open) folder under the policy.
    func mayCreate() -> Refusal? {
        guard case .success(let folder) = get() else { return nil }
        guard let writer = policy.writer, !created, !folder.isWritable(by: writer) else { return nil }
        return .unwritable(folder.path)
    }

    /// Gives a folder this copy created its source's mode and times, once its contents are in
    /// (a read-only source folder would otherwise stop the copy into it).
    func finish() {
        guard created, let source, case .success(let folder) = get() else { return }
        _ = fchmod(folder.fd, source.st_mode & 0o777)
        var times = [source.st_atim, source.st_mtim]
        _ = futimens(folder.fd, &times)
    }

    /// Gives a created file or link to the policy's owner.
    func own(_ name: String, in folder: SafeDirectory) {
        guard let owner = policy.owner else { return }
        try? folder.chown(name, uid: owner.uid, gid: owner.gid)
    }
}
