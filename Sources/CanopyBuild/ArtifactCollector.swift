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

    struct Outcome {
        var fileCount = 0
        var byteCount: Int64 = 0
    }

    func collect(into destination: String) throws(BuildFailure) -> Outcome {
        let baseParts =
            appRoot.split(separator: "/").map(String.init)
            + selection.baseDirectory.split(separator: "/").map(String.init)
        guard let baseRelative = normalize(baseParts) else {
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
        return outcome
    }

    // MARK: - Walking

    private func walk(
        folder: String, relative: String, baseReal: String, shownBase: String, globs: [Glob],
        destination: String, visited: inout Set<String>, outcome: inout Outcome
    ) throws(BuildFailure) {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        for name in names where name != ".git" {
            let path = folder + "/" + name
            let relativePath = relative.isEmpty ? name : relative + "/" + name
            let shownPath = shownBase.isEmpty ? relativePath : shownBase + "/" + relativePath
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
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
                do {
                    try FileManager.default.createDirectory(
                        atPath: (to as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                    try FileManager.default.copyItem(atPath: target, toPath: to)
                } catch {
                    throw BuildFailure(message: "cannot copy artifact `\(shownPath)`: \(error)")
                }
                outcome.fileCount += 1
                outcome.byteCount += Int64(info.st_size)
            }
        }
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
