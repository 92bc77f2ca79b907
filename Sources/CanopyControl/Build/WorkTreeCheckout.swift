import CanopyGit
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A build's checkout: the whole tree of the commit, or, when the branch's previous work tree is
/// there (`WarmTrees`), that tree made equal to a fresh checkout by writing only what differs:
/// - the paths the two commits' trees differ in;
/// - every file the previous build changed, replaced or removed (its stamp is not the checkout's);
/// - and nothing else: whatever the previous build added (node_modules, dist, `.git`) is removed.
/// Links are never followed: a link the previous build made is removed as what it is.
/// Blocking: run it on the blocking executor.
struct WorkTreeCheckout {
    let repository: GitRepository
    let commit: String
    let directory: String
    /// Where removed folders go (on the same file system), deleted later.
    let trash: String

    struct Outcome {
        /// What the checkout wrote, path by path.
        var files: [String: FileStamp]
        /// The `lstat` of each of those files, as the checkout leaves them (for the `.git`'s index).
        var stats: [String: stat] = [:]
        /// Set when the previous tree was reused: its commit, and the paths written.
        var reused: (commit: String, written: Int, removed: Int)?
        /// Why the previous tree could not be reused (it was then checked out in full).
        var fallback: String?
    }

    func run(reusing warm: WarmTree?) throws -> Outcome {
        if let warm {
            do {
                return try refresh(warm)
            } catch {
                try? FileManager.default.removeItem(atPath: directory)
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                var outcome = try full()
                outcome.fallback = "\(error)"
                return outcome
            }
        }
        return try full()
    }

    private func full() throws -> Outcome {
        try repository.checkout(commit: commit, into: directory)
        var files: [String: FileStamp] = [:]
        var stats: [String: stat] = [:]
        try Self.walk(directory, "") { relative, info in
            files[relative] = FileStamp(info)
            stats[relative] = info
        }
        return Outcome(files: files, stats: stats)
    }

    private struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private func refresh(_ warm: WarmTree) throws -> Outcome {
        guard rename(warm.path, directory) == 0 else {
            throw Failure(description: "cannot move the previous work tree: \(String(cString: strerror(errno)))")
        }
        let changed = try repository.changedPaths(from: warm.commit, to: commit)
        if changed.contains(where: { $0 == ".gitattributes" || $0.hasSuffix("/.gitattributes") }) {
            throw Failure(description: ".gitattributes changed (it changes how every file is written)")
        }
        var folders: Set<String> = [""]
        for path in warm.files.keys {
            var folder = Substring(path)
            while let slash = folder.lastIndex(of: "/") {
                folder = folder[..<slash]
                guard folders.insert(String(folder)).inserted else { break }
            }
        }
        // What the previous build left: what is not the checkout's goes.
        var kept: [String: stat] = [:]
        var removed = 0
        try clean("", folders: folders, warm: warm, kept: &kept, removed: &removed)
        var write = Set(warm.files.keys.filter { kept[$0] == nil })
        // What the new commit changes: the old file goes (a folder in its place too), the new is written.
        for path in changed {
            let full = directory + "/" + path
            var info = stat()
            if lstat(full, &info) == 0 {
                if info.st_mode & S_IFMT == S_IFDIR { try discard(full) } else { unlink(full) }
            }
            write.insert(path)
            removeEmptyFolders(above: path)
        }
        let paths = write.sorted()
        try repository.checkout(commit: commit, into: directory, paths: paths)
        var files = warm.files
        var stats = kept
        for path in paths {
            var info = stat()
            if lstat(directory + "/" + path, &info) == 0 {
                files[path] = FileStamp(info)
                stats[path] = info
            } else {
                files[path] = nil
            }
        }
        return Outcome(files: files, stats: stats, reused: (warm.commit, paths.count, removed))
    }

    /// Removes, below `relative`, every entry that is not a file the checkout wrote, unchanged, or a
    /// folder on the way to one; collects the unchanged files, with their `lstat`, in `kept`.
    private func clean(
        _ relative: String, folders: Set<String>, warm: WarmTree, kept: inout [String: stat], removed: inout Int
    ) throws {
        let folder = relative.isEmpty ? directory : directory + "/" + relative
        for (name, info) in try Self.listing(folder, strict: true) {
            let path = relative.isEmpty ? name : relative + "/" + name
            let full = folder + "/" + name
            if info.st_mode & S_IFMT == S_IFDIR {
                if folders.contains(path) {
                    try clean(path, folders: folders, warm: warm, kept: &kept, removed: &removed)
                } else {
                    try discard(full)
                    removed += 1
                }
            } else if warm.files[path] == FileStamp(info) {
                kept[path] = info
            } else {
                guard unlink(full) == 0 else {
                    throw Failure(description: "cannot remove \(path): \(String(cString: strerror(errno)))")
                }
                if warm.files[path] == nil { removed += 1 }
            }
        }
    }

    private func discard(_ full: String) throws {
        if rename(full, trash + "/" + UUID().uuidString.lowercased()) != 0 {
            try FileManager.default.removeItem(atPath: full)
        }
    }

    /// A fresh checkout has no empty folder: the ones a deletion emptied go.
    private func removeEmptyFolders(above path: String) {
        var folder = Substring(path)
        while let slash = folder.lastIndex(of: "/") {
            folder = folder[..<slash]
            if rmdir(directory + "/" + folder) != 0 { return }
        }
    }

    /// Calls `body` for every file (anything but a folder) below `directory/relative`, links not followed.
    static func walk(_ directory: String, _ relative: String, _ body: (String, stat) -> Void) throws {
        let folder = relative.isEmpty ? directory : directory + "/" + relative
        for (name, info) in try listing(folder) {
            let path = relative.isEmpty ? name : relative + "/" + name
            if info.st_mode & S_IFMT == S_IFDIR {
                try walk(directory, path, body)
            } else {
                body(path, info)
            }
        }
    }

    /// A folder's entries with their `lstat`, each looked up from the open folder (`fstatat`), not
    /// by its whole path again. A name that is not UTF-8 cannot be named by a `String`: it is left
    /// out, or, when `strict` (a tree to reuse, which must be cleaned), it throws, and the caller
    /// checks out afresh.
    static func listing(_ folder: String, strict: Bool = false) throws -> [(name: String, info: stat)] {
        guard let dir = opendir(folder) else {
            throw Failure(description: "cannot open \(folder): \(String(cString: strerror(errno)))")
        }
        defer { closedir(dir) }
        var entries: [(name: String, info: stat)] = []
        while let entry = readdir(dir) {
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            if bytes == [0x2E] || bytes == [0x2E, 0x2E] { continue }
            guard let name = String(validating: bytes, as: UTF8.self) else {
                if strict { throw Failure(description: "\(folder) holds a name that is not UTF-8") }
                continue
            }
            var info = stat()
            guard fstatat(dirfd(dir), name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            entries.append((name, info))
        }
        return entries
    }
}

extension WorkTreeCheckout.Outcome {
    /// The build log's line about the checkout.
    var summary: String {
        if let reused {
            return "Reused the work tree of \(reused.commit.prefix(7)): wrote \(reused.written) paths, "
                + "removed \(reused.removed) entries the last build had added (\(files.count) files checked out)"
        }
        let files = "Checked out \(files.count) files"
        guard let fallback else { return files }
        return files + " (the previous work tree was not reusable: \(fallback))"
    }
}
