import CanopySpec
import Foundation

/// `cache.paths`: folders restored into the checkout before the build and saved after a successful one.
/// A glob such as `node_modules/**/*` stands for its fixed prefix, `node_modules`.
struct BuildCache {
    /// Cached folders relative to the repository root, and warnings for refused paths.
    let entries: [String]
    let warnings: [String]

    init(plan: BuildPlan) {
        var entries: [String] = []
        var warnings: [String] = []
        for path in plan.cachePaths {
            var fixed: [String] = []
            for part in path.split(separator: "/", omittingEmptySubsequences: true) {
                if part.contains(where: { "*?[".contains($0) }) { break }
                fixed.append(String(part))
            }
            let joined = (plan.appRoot.split(separator: "/").map(String.init) + fixed)
            guard let relative = normalize(joined), !relative.isEmpty else {
                warnings.append(
                    "cache path `\(path)` is outside the repository (or is its root) and is not cached; "
                        + "use a folder inside the repository such as node_modules/**/*")
                continue
            }
            if !entries.contains(relative) { entries.append(relative) }
        }
        self.entries = entries
        self.warnings = warnings
    }

    /// Restores from `cacheDirectory`, or from `seedDirectory` when the cache is missing or empty.
    /// Returns log lines.
    func restore(into root: String, cacheDirectory: String?, seedDirectory: String?) -> [String] {
        let source: String
        if let cacheDirectory, !Self.isEmptyFolder(cacheDirectory) {
            source = cacheDirectory
        } else if let seedDirectory, !Self.isEmptyFolder(seedDirectory) {
            source = seedDirectory
        } else {
            return entries.isEmpty ? [] : ["## Cache: nothing cached yet"]
        }
        var lines: [String] = []
        for entry in entries {
            let from = source + "/" + entry
            guard FileManager.default.fileExists(atPath: from) else { continue }
            let to = root + "/" + entry
            do {
                try? FileManager.default.removeItem(atPath: to)
                try BuildRunner.copyTree(from: from, to: to)
                lines.append("## Cache: restored \(entry)")
            } catch {
                lines.append("## Cache: could not restore \(entry): \(error)")
            }
        }
        return lines
    }

    /// Replaces the cache's copy of each entry with the checkout's. Returns log lines.
    func save(from root: String, cacheDirectory: String) -> [String] {
        var lines: [String] = []
        for entry in entries {
            let from = root + "/" + entry
            let to = cacheDirectory + "/" + entry
            try? FileManager.default.removeItem(atPath: to)
            guard FileManager.default.fileExists(atPath: from) else { continue }
            do {
                try BuildRunner.copyTree(from: from, to: to)
                lines.append("## Cache: saved \(entry)")
            } catch {
                lines.append("## Cache: could not save \(entry): \(error)")
            }
        }
        return lines
    }

    static func isEmptyFolder(_ path: String) -> Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).isEmpty
    }
}

/// Resolves `.` and `..` in a relative path; nil when it climbs above its start.
func normalize(_ parts: [String]) -> String? {
    var result: [String] = []
    for part in parts where part != "." && !part.isEmpty {
        if part == ".." {
            guard !result.isEmpty else { return nil }
            result.removeLast()
        } else {
            result.append(part)
        }
    }
    return result.joined(separator: "/")
}
