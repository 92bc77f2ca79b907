import CanopyGit
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A build's `.git`, as Amplify's builds have one (issue #13: "a shallow clone of the commit, its
/// branch checked out"), so that `git rev-parse HEAD`, `git log` and Hugo's `enableGitInfo` work,
/// made in two parts that each cost what changed:
/// - the branch's object store (`store`, a bare repository beside the checkout, root's, readable
///   by the build): the first build of a branch fetches the commit into it; later builds
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
    /// The `git` that fetches a fresh store's objects; nil copies them with libgit2.
    var git = Self.gitExecutable

    struct Outcome {
        /// Objects added to the store since it was made (kept with the store).
        var storeAdded: Int
        /// Objects this build copied into the store (one by one), and whether it was made afresh.
        var copied: Int
        var fresh: Bool
        /// Why a fresh store's objects were copied one by one rather than fetched.
        var fetchProblem: String?

        /// What the log says.
        var summary: String {
            guard fresh else { return "Made .git from the kept objects (\(copied) new)" }
            guard let fetchProblem else { return "Made .git (fetched the commit)" }
            return "Made .git (copied \(copied) objects: \(fetchProblem))"
        }
    }

    /// Makes the store (or brings the kept one, which has had `storeAdded` objects added, up to
    /// `commit`), then `checkout/.git` (its index from `stats`, the checkout's files' `lstat`, where
    /// given). Throws when the checkout cannot have a `.git`.
    func make(
        commit: String, branch: String, remoteURL: String, storeAdded: Int?, stats: [String: stat] = [:]
    ) throws -> Outcome {
        var outcome: Outcome
        if let kept = storeAdded, kept < maxAdded, let stored = try? GitRepository.open(store),
            let copied = try? repository.copyObjects(of: commit, to: stored)
        {
            outcome = Outcome(storeAdded: kept + copied, copied: copied, fresh: false)
        } else {
            try? FileManager.default.removeItem(atPath: store)
            let stored = try GitRepository.initBare(at: store)
            // One pack, its objects' compressed data reused (`git fetch`); else every object loose,
            // each compressed again and a file of its own (libgit2): 4 s against 0.3 s for 2,000 files.
            if let problem = fetch(commit) {
                outcome = Outcome(
                    storeAdded: 0, copied: try repository.copyObjects(of: commit, to: stored), fresh: true)
                outcome.fetchProblem = problem
            } else {
                outcome = Outcome(storeAdded: 0, copied: 0, fresh: true)
            }
        }
        try makeReadable(store)
        try GitWorkTreeDirectory.make(
            in: checkout, commit: commit, branch: branch, objects: store + "/objects",
            remoteURL: remoteURL.isEmpty ? nil : remoteURL, stats: stats)
        return outcome
    }

    /// `git fetch --depth=1` of the commit into the store, with no user or system configuration;
    /// the problem when it cannot.
    private func fetch(_ commit: String) -> String? {
        guard let git else { return "git is not installed" }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: git)
        process.arguments = ["-C", store, "fetch", "-q", "--depth=1", "--no-tags", repository.gitDirectory, commit]
        process.environment = [
            "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/nonexistent", "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_TERMINAL_PROMPT": "0", "LANG": "C.UTF-8",
        ]
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return "cannot run git: \(error)" }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus != 0 else { return nil }
        return "`git fetch` failed: " + message.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `git`, if installed.
    static let gitExecutable = ["/usr/bin/git", "/usr/local/bin/git", "/bin/git"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// The store's folders and files become readable by the build, whatever the umask, but for the
    /// loose objects' folders (`copyObjects` makes the objects it writes readable itself).
    private func makeReadable(_ folder: String) throws {
        chmod(folder, 0o755)
        let looseFolders = folder == store + "/objects"
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) {
            let path = folder + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR where looseFolders && name.utf8.count == 2: continue
            case S_IFDIR: try makeReadable(path)
            case S_IFREG: chmod(path, info.st_mode & 0o111 != 0 ? 0o755 : 0o644)
            default: continue
            }
        }
    }
}
