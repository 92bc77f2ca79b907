import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A file of a checkout as the checkout left it: a later look that finds the same inode, type,
/// mode, size and modification time finds the file the checkout wrote.
struct FileStamp: Hashable, Sendable {
    let inode: UInt64
    let size: Int64
    let modified: Int
    let modifiedNanoseconds: Int
    let mode: UInt32

    init(_ info: stat) {
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = info.st_mtim.tv_sec
        modifiedNanoseconds = info.st_mtim.tv_nsec
        mode = info.st_mode
    }

    /// The stamp of `path` (not following a link), nil if it is not there.
    static func of(_ path: String) -> FileStamp? {
        var info = stat()
        return lstat(path, &info) == 0 ? FileStamp(info) : nil
    }
}

/// A branch's work tree kept after its build, for the next commit of the branch to be checked out
/// into: what the checkout wrote (each file's stamp) and the commit it was.
struct WarmTree: Sendable {
    let path: String
    let commit: String
    let files: [String: FileStamp]
}

/// Branches' work trees between builds (issue #13: "reuse the previous build's work tree of that
/// branch where it is safe (a clean checkout of only the changed paths)"). A push of one file then
/// writes one file instead of the whole tree (`WorkTreeCheckout`). The trees wait in a folder only
/// root can enter; at most `capacity` are kept, the least recently kept removed first, and none
/// outlives the process (`clear()` at start: their stamps are only in memory).
final class WarmTrees: Sendable {
    let root: String
    let capacity: Int
    private struct State {
        var trees: [EnvironmentKey: WarmTree] = [:]
        var order: [EnvironmentKey] = []
        /// What each running build's checkout wrote, until the build ends.
        var checkouts: [String: (commit: String, files: [String: FileStamp])] = [:]
    }
    private let state = Mutex(State())

    init(root: String, capacity: Int = 16) {
        self.root = root
        self.capacity = max(1, capacity)
    }

    var trash: String { root + "/.trash" }

    /// Removes every kept tree (a previous process's) and makes the folders, private. Blocking.
    func clear() {
        try? FileManager.default.removeItem(atPath: root)
        mkdir(root, 0o700)
        chmod(root, 0o700)
        mkdir(trash, 0o700)
    }

    /// The branch's kept tree, no longer kept: the caller moves it into its checkout.
    func take(_ key: EnvironmentKey) -> WarmTree? {
        state.withLock { state in
            state.order.removeAll { $0 == key }
            return state.trees.removeValue(forKey: key)
        }
    }

    /// Notes what a build's checkout wrote (`keep` uses it when the build ends).
    func checkedOut(build: String, commit: String, files: [String: FileStamp]) {
        state.withLock { $0.checkouts[build] = (commit, files) }
    }

    /// At the end of a build: moves its checkout (`source`) here as the branch's tree, if its
    /// checkout completed and `reusable`; otherwise forgets it. Returns the folders to delete (an
    /// evicted tree, or `source` itself when it is not kept). Blocking.
    func keep(build: String, key: EnvironmentKey, source: String, reusable: Bool) -> [String] {
        guard let checkout = state.withLock({ $0.checkouts.removeValue(forKey: build) }), reusable else {
            return [source]
        }
        let path = root + "/" + UUID().uuidString.lowercased()
        guard rename(source, path) == 0 else { return [source] }
        let tree = WarmTree(path: path, commit: checkout.commit, files: checkout.files)
        return state.withLock { state in
            var removed: [String] = []
            if let old = state.trees.updateValue(tree, forKey: key) { removed.append(old.path) }
            state.order.removeAll { $0 == key }
            state.order.append(key)
            while state.order.count > capacity {
                let evicted = state.order.removeFirst()
                if let old = state.trees.removeValue(forKey: evicted) { removed.append(old.path) }
            }
            return removed
        }
    }

    /// Deletes folders by moving them to the trash first (one rename each), so that the caller can
    /// go on at once and `emptyTrash()` deletes them later. Blocking.
    func discard(_ paths: [String]) {
        for path in paths {
            if rename(path, trash + "/" + UUID().uuidString.lowercased()) != 0 {
                try? FileManager.default.removeItem(atPath: path)
            }
        }
    }

    /// Deletes what was moved to the trash. Blocking (it may take a while: node_modules).
    func emptyTrash() {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: trash)) ?? [] {
            try? FileManager.default.removeItem(atPath: trash + "/" + name)
        }
    }
}
