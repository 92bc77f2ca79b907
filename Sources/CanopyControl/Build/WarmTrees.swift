import CanopyStore
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
/// into: what the checkout wrote (each file's stamp) and the commit it was; the branch's git
/// object store (`BuildGitDirectory`), if the build had one; and, if the build ran as the server's
/// own user and deployed, its artifact folder (links into the tree) with what the ingest learned of
/// those files (`IngestCache`).
struct WarmTree: Sendable {
    let path: String
    let commit: String
    let files: [String: FileStamp]
    var store: KeptStore?
    var artifacts: String?
    var ingestCache: IngestCache?

    /// Every folder the tree holds.
    var folders: [String] { [path] + [store?.path, artifacts].compactMap { $0 } }
}

/// A branch's git object store between builds, and how many objects builds have added to it.
struct KeptStore: Sendable {
    let path: String
    let added: Int
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
        var checkouts: [String: Checkout] = [:]
    }
    private struct Checkout {
        let commit: String
        let files: [String: FileStamp]
        let storeAdded: Int?
        var ingestCache: IngestCache?
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

    /// Notes what a build's checkout wrote, and the objects added to its store (nil: it has no
    /// store); `keep` uses it when the build ends.
    func checkedOut(build: String, commit: String, files: [String: FileStamp], storeAdded: Int?) {
        state.withLock { $0.checkouts[build] = Checkout(commit: commit, files: files, storeAdded: storeAdded) }
    }

    /// Notes what the build's ingest learned (`keep` keeps it with the artifact folder).
    func ingested(build: String, cache: IngestCache) {
        state.withLock { $0.checkouts[build]?.ingestCache = cache }
    }

    /// At the end of a build: moves its checkout (`source`), its object store (`store`) and its
    /// artifact folder (`artifacts`, if it is to be kept) here as the branch's tree, if its checkout
    /// completed and `reusable`; otherwise forgets them. Returns the folders to delete (an evicted
    /// tree, or the build's own folders when they are not kept). Blocking.
    func keep(
        build: String, key: EnvironmentKey, source: String, store: String, artifacts: String?, reusable: Bool
    ) -> [String] {
        let all = [source, store] + [artifacts].compactMap { $0 }
        guard let checkout = state.withLock({ $0.checkouts.removeValue(forKey: build) }), reusable else {
            return all
        }
        let path = root + "/" + UUID().uuidString.lowercased()
        guard rename(source, path) == 0 else { return all }
        var tree = WarmTree(path: path, commit: checkout.commit, files: checkout.files)
        var removed: [String] = []
        if let added = checkout.storeAdded, rename(store, path + ".git") == 0 {
            tree.store = KeptStore(path: path + ".git", added: added)
        } else {
            removed.append(store)
        }
        if let artifacts {
            if rename(artifacts, path + ".artifacts") == 0 {
                tree.artifacts = path + ".artifacts"
                tree.ingestCache = checkout.ingestCache
            } else {
                removed.append(artifacts)
            }
        }
        return state.withLock { state in
            if let old = state.trees.updateValue(tree, forKey: key) { removed += old.folders }
            state.order.removeAll { $0 == key }
            state.order.append(key)
            while state.order.count > capacity {
                let evicted = state.order.removeFirst()
                if let old = state.trees.removeValue(forKey: evicted) { removed += old.folders }
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
