import CanopyGit
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A build's `.git`, as Amplify's builds have one (issue #13: "a shallow clone of the commit, its
/// branch checked out"), so that `git rev-parse HEAD`, `git log` and Hugo's `enableGitInfo` work,
/// made in two parts that each cost what changed:
/// - the branch's object store (`store`, a bare repository beside the checkout, root's, readable
///   by the build): the first build of a branch copies the commit's objects into it; later builds
///   (the store is kept with the branch's work tree, `WarmTrees`) copy only the objects the new
///   commit adds, until it has grown by `maxAdded` objects, when it is made afresh;
/// - the checkout's `.git`, written afresh by every build: its objects are the store's
///   (`objects/info/alternates`), its index the commit's tree with the stat data of the checkout's
///   files, so nothing is hashed and `git status` finds the checkout clean.
///
/// A build that runs as another user can read the store but not write it (root's files, in the
/// build's workspace), and never learns where the site's repository is. Blocking, run as root
/// before the checkout is handed to the build user.
struct BuildGitDirectory {
    /// The site's repository (or its mirror).
    let repository: GitRepository
    let store: String
    let checkout: String
    /// How many objects later builds may add to a store before it is made afresh.
    var maxAdded = 4096

    struct Outcome {
        /// Objects added to the store since it was made (kept with the store).
        var storeAdded: Int
        /// Objects this build copied into the store, and whether it was made afresh.
        var copied: Int
        var fresh: Bool

        /// What the log says.
        var summary: String {
            fresh ? "Made .git (\(copied) objects)" : "Made .git from the kept objects (\(copied) new)"
        }
    }

    /// Makes the store (or brings the kept one, which has had `storeAdded` objects added, up to
    /// `commit`), then `checkout/.git`. Throws when the checkout cannot have a `.git`.
    func make(commit: String, branch: String, remoteURL: String, storeAdded: Int?) throws -> Outcome {
        var outcome: Outcome
        if let kept = storeAdded, kept < maxAdded, let stored = try? GitRepository.open(store),
            let copied = try? repository.copyObjects(of: commit, to: stored)
        {
            outcome = Outcome(storeAdded: kept + copied, copied: copied, fresh: false)
        } else {
            try? FileManager.default.removeItem(atPath: store)
            let stored = try GitRepository.initBare(at: store)
            outcome = Outcome(storeAdded: 0, copied: try repository.copyObjects(of: commit, to: stored), fresh: true)
        }
        try makeReadable(store)
        try GitWorkTreeDirectory.make(
            in: checkout, commit: commit, branch: branch, objects: store + "/objects",
            remoteURL: remoteURL.isEmpty ? nil : remoteURL)
        return outcome
    }

    /// The store's folders and files become readable by the build, whatever the umask: the few
    /// that `initBare` wrote (`copyObjects` makes the objects it writes readable itself).
    private func makeReadable(_ folder: String) throws {
        chmod(folder, 0o755)
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) {
            let path = folder + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR where path != store + "/objects": try makeReadable(path)
            case S_IFDIR: for inner in ["", "/info", "/pack"] { chmod(path + inner, 0o755) }
            case S_IFREG: chmod(path, info.st_mode & 0o111 != 0 ? 0o755 : 0o644)
            default: continue
            }
        }
    }
}
