import CanopySpec
import Foundation

/// Copies the files of an `ArtifactSelection` out of the checkout. Reads nothing outside the base folder:
/// a symbolic link that resolves outside it fails the collection; one inside is copied as the file it names.
struct ArtifactCollector {
    /// The checkout (repository root).
    let root: String
    let appRoot: String
    let selection: ArtifactSelection
    /// How the base folder is named in messages (`artifacts.baseDirectory`).
    var label = "artifacts.baseDirectory"
    /// Hard-link the files instead of copying them, when no other account can write them (the build
    /// ran as root's own user): a new file costs ext4 an inode search that dominated a 2,000-file push.
    var linkFiles = false
    /// The destination holds an earlier collection's links into this same checkout (the branch's
    /// last build, whose work tree this is): a link that is still the file selected stays as it
    /// is, everything else there is replaced or removed, so the folder ends as a new collection's.
    /// A kept link leaves its file's change time alone, which lets the store trust what it learned
    /// of the file at the last ingest (`IngestCache`).
    var refresh = false

    struct Outcome {
        var fileCount = 0
        var byteCount: Int64 = 0
        /// Files left out, and why (a name that is not UTF-8 cannot be a URL path).
        var warnings: [String] = []
        /// When refreshing: the destination paths collected, and how many links were kept.
        var collected: Set<String> = []
        var kept = 0
    }

    func collect(into destination: String) throws(BuildFailure) -> Outcome {
        let baseParts =
            appRoot.split(separator: "/").map(String.init)
            + selection.baseDirectory.split(separator: "/").map(String.init)
        guard let baseRelative = RelativePath.resolve(baseParts) else {
            throw BuildFailure(
                message: "\(label) `\(selection.baseDirectory)` is outside the repository; "
                    + "name a folder inside it (relative to appRoot)")
        }
        let shown = baseRelative.isEmpty ? "the repository root" : "`\(baseRelative)`"
        let base = baseRelative.isEmpty ? root : root + "/" + baseRelative
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: base, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw BuildFailure(
                message: "\(label) \(shown) does not exist after the build; check that the build writes its "
                    + "output there, or fix baseDirectory in amplify.yml")
        }
        guard let rootReal = Self.realPath(root), let baseReal = Self.realPath(base),
            Self.isInside(baseReal, rootReal)
        else {
            throw BuildFailure(message: "\(label) \(shown) resolves outside the repository; it is refused")
        }
        let globs = selection.files.map(Glob.init)
        do {
            try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
        } catch {
            throw BuildFailure(message: "cannot create the artifact folder \(destination): \(error)")
        }
        var outcome = Outcome()
        var visited: Set<String> = [baseReal]
        try walk(
            folder: base, relative: "", baseReal: baseReal, shownBase: baseRelative, globs: globs,
            destination: destination, visited: &visited, outcome: &outcome)
        if refresh {
            do {
                try Self.prune(destination, "", keeping: outcome.collected)
            } catch {
                throw BuildFailure(message: "cannot clear the artifact folder \(destination): \(error)")
            }
        }
        return outcome
    }

    // MARK: - Walking

    private func walk(
        folder: String, relative: String, baseReal: String, shownBase: String, globs: [Glob],
        destination: String, visited: inout Set<String>, outcome: inout Outcome
    ) throws(BuildFailure) {
        let (names, unreadable) = Self.entries(folder)
        var folderMade = false
        // A refreshed destination folder, open: its entries are looked up from it, not by path.
        var destinationFolder: Int32 = -1
        defer { if destinationFolder >= 0 { close(destinationFolder) } }
        for name in unreadable {
            let shown = (relative.isEmpty ? shownBase : (shownBase.isEmpty ? relative : shownBase + "/" + relative))
            outcome.warnings.append(
                "`\(shown.isEmpty ? "" : shown + "/")\(name)` is not deployed: its name is not UTF-8, so no URL can name it; rename it"
            )
        }
        for (name, listed) in names where name != ".git" {
            let path = folder + "/" + name
            let relativePath = relative.isEmpty ? name : relative + "/" + name
            let shownPath = shownBase.isEmpty ? relativePath : shownBase + "/" + relativePath
            guard var info = listed else { continue }
            var target = path
            var kind = info.st_mode & S_IFMT
            if kind == S_IFLNK {
                let linkText = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?"
                guard let real = Self.realPath(path), stat(real, &info) == 0 else {
                    if globs.contains(where: { $0.matches(relativePath) }) {
                        throw BuildFailure(
                            message: "artifact `\(shownPath)` is a symbolic link to `\(linkText)`, which does not "
                                + "exist; remove the link or make the build create its target")
                    }
                    continue
                }
                guard Self.isInside(real, baseReal) else {
                    throw BuildFailure(
                        message: "artifact `\(shownPath)` is a symbolic link to `\(linkText)` (\(real)), outside "
                            + "the artifact folder; only files inside it are deployed — copy the file in "
                            + "instead of linking it")
                }
                target = real
                kind = info.st_mode & S_IFMT
            }
            if kind == S_IFDIR {
                guard let real = Self.realPath(target), visited.insert(real).inserted else { continue }
                try walk(
                    folder: target, relative: relativePath, baseReal: baseReal, shownBase: shownBase, globs: globs,
                    destination: destination, visited: &visited, outcome: &outcome)
                visited.remove(real)
            } else if kind == S_IFREG {
                guard globs.contains(where: { $0.matches(relativePath) }) else { continue }
                let to = destination + "/" + relativePath
                outcome.fileCount += 1
                outcome.byteCount += Int64(info.st_size)
                do {
                    if !folderMade {
                        try Self.makeFolders(destination, relative)
                        folderMade = true
                        if refresh {
                            destinationFolder = open(
                                (to as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                            guard destinationFolder >= 0 else { throw SafeIOError("open", to) }
                        }
                    }
                    if refresh {
                        outcome.collected.insert(relativePath)
                        if try Self.keepOrClear(name, in: destinationFolder, path: to, for: info) {
                            outcome.kept += 1
                            continue
                        }
                    }
                    if !linkFiles || link(target, to) != 0 { try Self.copy(target, to: to) }
                } catch {
                    throw BuildFailure(message: "cannot copy artifact `\(shownPath)`: \(error)")
                }
            }
        }
    }

    /// Copies one file's bytes into a new file of root's (FileManager.copyItem took 1.6 ms a file:
    /// 3.3 s of a 2,000-file push). `source` is not a link (links were resolved before).
    static func copy(_ source: String, to destination: String) throws {
        let input = open(source, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard input >= 0 else { throw SafeIOError("open", source) }
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw SafeIOError("create", destination) }
        defer { close(output) }
        _ = try SafeDirectory.copyContent(from: input, to: output, path: source)
    }

    // MARK: - Refreshing

    /// Makes `destination/relative` and the folders on the way; in a refreshed destination, an
    /// entry in the way that is not a folder is removed first (links are never followed).
    static func makeFolders(_ destination: String, _ relative: String) throws {
        var path = destination
        for part in relative.split(separator: "/") {
            path += "/" + part
            var info = stat()
            if lstat(path, &info) == 0 {
                if info.st_mode & S_IFMT == S_IFDIR { continue }
                guard unlink(path) == 0 else { throw SafeIOError("unlink", path) }
            }
            guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw SafeIOError("mkdir", path) }
        }
    }

    /// True when entry `name` of the open folder `folder` (at `path`) already is the file `source`
    /// names (the same inode); otherwise clears the way for it: whatever is there (file, link,
    /// folder) goes.
    static func keepOrClear(_ name: String, in folder: Int32, path: String, for source: stat) throws -> Bool {
        var info = stat()
        guard fstatat(folder, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return false }
        if info.st_mode & S_IFMT == S_IFREG && info.st_ino == source.st_ino && info.st_dev == source.st_dev {
            return true
        }
        if info.st_mode & S_IFMT == S_IFDIR {
            try FileManager.default.removeItem(atPath: path)
        } else if unlinkat(folder, name, 0) != 0 {
            throw SafeIOError("unlink", path)
        }
        return false
    }

    /// Removes below `destination/relative` every entry that is neither a collected file nor a
    /// folder holding one. Returns whether anything collected is below.
    @discardableResult
    static func prune(_ destination: String, _ relative: String, keeping collected: Set<String>) throws -> Bool {
        let folder = relative.isEmpty ? destination : destination + "/" + relative
        var holds = false
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) {
            let path = relative.isEmpty ? name : relative + "/" + name
            if collected.contains(path) {
                holds = true
                continue
            }
            var info = stat()
            guard lstat(folder + "/" + name, &info) == 0 else { continue }
            if info.st_mode & S_IFMT == S_IFDIR, try prune(destination, path, keeping: collected) {
                holds = true
            } else if info.st_mode & S_IFMT == S_IFDIR {
                try FileManager.default.removeItem(atPath: folder + "/" + name)
            } else if unlink(folder + "/" + name) != 0 {
                throw SafeIOError("unlink", folder + "/" + name)
            }
        }
        return holds
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func isInside(_ path: String, _ folder: String) -> Bool {
        path == folder || path.hasPrefix(folder.hasSuffix("/") ? folder : folder + "/")
    }
}

extension ArtifactCollector {
    /// A folder's entries as stored on disk, sorted: the names that are UTF-8 with their `lstat`
    /// (looked up from the open folder; nil if the entry is gone), and the others shown with their
    /// bytes escaped (`\xff`). Foundation's listing drops or mangles such names silently.
    static func entries(_ folder: String) -> (names: [(String, stat?)], notUTF8: [String]) {
        guard let dir = opendir(folder) else { return ([], []) }
        defer { closedir(dir) }
        var names: [(String, stat?)] = []
        var notUTF8: [String] = []
        while let entry = readdir(dir) {
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            if bytes == [0x2E] || bytes == [0x2E, 0x2E] { continue }
            if let name = String(validating: bytes, as: UTF8.self) {
                var info = stat()
                names.append((name, fstatat(dirfd(dir), name, &info, AT_SYMLINK_NOFOLLOW) == 0 ? info : nil))
            } else {
                notUTF8.append(
                    bytes.map { $0 < 0x80 && $0 >= 0x20 ? String(UnicodeScalar($0)) : String(format: "\\x%02x", $0) }
                        .joined())
            }
        }
        return (names.sorted { $0.0 < $1.0 }, notUTF8.sorted())
    }
}
