import CanopySpec
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `cache.paths` (of `frontend`, `backend` and `test`): the paths the globs match, restored before
/// the build and saved after a successful one, as Amplify documents for `cache`
/// (https://docs.aws.amazon.com/amplify/latest/userguide/yml-specification-syntax.html: "During
/// the first build, paths provided here are cached. On subsequent builds, Amplify restores the
/// cache to the same paths before it runs your commands.").
///
/// The branch's cache folder holds one folder per area: `checkout/` (paths in the repository),
/// `home/` (`~/…`, `$HOME/…`, the build's HOME) and `absolute/` (`/root/.cache/Cypress/…`).
///
/// Cache I/O runs as root for builds that run as another user, so it never follows a link the
/// build controls: every path is walked one component at a time by descriptor with `O_NOFOLLOW`,
/// links are copied as links, a link on the way to a cached path is refused with a warning, and a
/// restore never replaces (or writes through) anything that exists, so files from the checkout win.
struct BuildCache {
    let includes: [CachePattern]
    let excludes: [CachePattern]
    /// For refused `cache.paths` entries.
    let warnings: [String]

    /// Where a build's areas are, and who the build runs as.
    struct Places {
        var checkout: String
        var home: String
        var user: BuildUser?

        func base(_ area: CachePattern.Area) -> String {
            switch area {
            case .checkout: checkout
            case .home: home
            case .absolute: "/"
            }
        }
    }

    init(plan: BuildPlan) {
        var includes: [CachePattern] = []
        var excludes: [CachePattern] = []
        var warnings: [String] = []
        for path in plan.cachePaths {
            switch CachePattern.resolve(path, appRoot: plan.appRoot) {
            case .success(let pattern) where pattern.excluded: excludes.append(pattern)
            case .success(let pattern): includes.append(pattern)
            case .failure(let warning): warnings.append(warning.message)
            }
        }
        self.includes = includes
        self.excludes = excludes
        self.warnings = warnings
    }

    var isEmpty: Bool { includes.isEmpty }

    private var areas: [CachePattern.Area] {
        CachePattern.Area.allCases.filter { area in includes.contains { $0.area == area } }
    }

    // MARK: - Restore

    /// Restores from `cacheDirectory`, or from `seedDirectory` when the cache is missing or empty.
    /// Returns log lines.
    func restore(into places: Places, cacheDirectory: String?, seedDirectory: String?) -> [String] {
        guard !isEmpty else { return [] }
        let source: String
        if let cacheDirectory, Self.hasContent(cacheDirectory) {
            source = cacheDirectory
        } else if let seedDirectory, Self.hasContent(seedDirectory) {
            source = seedDirectory
        } else {
            return ["## Cache: nothing cached yet"]
        }
        var tally = CacheTally()
        for area in areas {
            guard let cached = try? SafeDirectory.open(source + "/" + area.rawValue) else { continue }
            let base: SafeDirectory
            do throws(SafeIOError) { base = try SafeDirectory.open(places.base(area)) } catch {
                tally.errors.append("\(error)")
                continue
            }
            // Outside the checkout and HOME, only where the build user may write itself.
            let policy = LazyDirectory.Policy(
                owner: places.user, writer: area == .absolute ? places.user : nil)
            var copy = CacheCopy(area: area, cache: self, requiredOwner: nil, destinationBase: base.path)
            copy.copyChildren(
                of: cached, into: LazyDirectory(root: base, policy: policy), relative: "", included: false)
            tally.add(copy.tally)
        }
        let from = source == cacheDirectory ? "the branch's cache" : "the production branch's cache"
        var lines = [
            "## Cache: restored \(tally.files) files and \(tally.links) links (\(tally.bytes) bytes) from \(from)"
                + (tally.kept > 0 ? "; \(tally.kept) already in the checkout were kept" : "")
        ]
        lines += Self.problems(tally, restoring: true)
        return lines
    }

    // MARK: - Save

    /// Replaces the branch's cache with what the patterns match now. Returns log lines.
    func save(from places: Places, cacheDirectory: String) -> [String] {
        let staging = cacheDirectory + ".saving-" + UUID().uuidString.prefix(8).lowercased()
        let parent = (cacheDirectory as NSString).deletingLastPathComponent
        let stagingName = (staging as NSString).lastPathComponent
        let folder: SafeDirectory
        let stage: SafeDirectory
        do throws(SafeIOError) {
            try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            folder = try SafeDirectory.open(parent)
            stage = try folder.makeDirectory(stagingName)
        } catch {
            return ["## Warning: the cache was not saved: \(error)"]
        }
        var tally = CacheTally()
        for area in areas {
            let base: SafeDirectory
            do throws(SafeIOError) { base = try SafeDirectory.open(places.base(area)) } catch {
                if !(area == .absolute) { tally.errors.append("\(error)") }
                continue
            }
            var copy = CacheCopy(area: area, cache: self, requiredOwner: places.user, destinationBase: staging)
            let root = LazyDirectory(root: stage, policy: LazyDirectory.Policy())
            copy.copyChildren(
                of: base, into: root.child(area.rawValue, source: Self.folderStatus), relative: "", included: false)
            tally.add(copy.tally)
        }
        if !tally.errors.isEmpty {
            folder.removeTree(stagingName)
            return ["## Warning: the cache was not saved (the previous one is kept): \(tally.errors[0])"]
        }
        let name = (cacheDirectory as NSString).lastPathComponent
        let old = name + ".old-" + UUID().uuidString.prefix(8).lowercased()
        if folder.entry(name) != nil { _ = renameat(folder.fd, name, folder.fd, old) }
        _ = fchmod(stage.fd, 0o700)
        guard renameat(folder.fd, stagingName, folder.fd, name) == 0 else {
            let error = SafeIOError("rename", staging)
            folder.removeTree(stagingName)
            _ = renameat(folder.fd, old, folder.fd, name)
            return ["## Warning: the cache was not saved: \(error)"]
        }
        folder.removeTree(old)
        return ["## Cache: saved \(tally.files) files and \(tally.links) links (\(tally.bytes) bytes)"]
            + Self.problems(tally, restoring: false)
    }

    // MARK: - Helpers

    /// Private folders in the cache: only root reads them.
    private static let folderStatus: stat = {
        var info = stat()
        info.st_mode = S_IFDIR | 0o700
        return info
    }()

    private static func problems(_ tally: CacheTally, restoring: Bool) -> [String] {
        var lines: [String] = []
        let verb = restoring ? "restored" : "cached"
        for (link, path) in tally.refusedLinks.prefix(5) {
            lines.append(
                "## Warning: cache: `\(link)` is a symbolic link, and the cache never follows links, so `\(path)` "
                    + "is not \(verb); replace the link with a folder, or cache the folder it points to")
        }
        if tally.refusedLinks.count > 5 {
            lines.append("## Warning: cache: \(tally.refusedLinks.count - 5) more links were refused")
        }
        if let first = tally.notOwned.first {
            lines.append(
                "## Warning: cache: \(tally.notOwned.count) files were not cached because the build user does not "
                    + "own them (a hard link to another user's file?), the first: `\(first)`")
        }
        for folder in tally.unwritable.prefix(5) {
            lines.append(
                "## Warning: cache: nothing was restored into \(folder): the build user may not write there; "
                    + "cache a path in HOME (~/…) instead")
        }
        for error in tally.errors.prefix(5) { lines.append("## Warning: cache: \(error)") }
        return lines
    }

    /// Whether a cache folder has any area folder in it.
    static func hasContent(_ path: String) -> Bool {
        guard let folder = try? SafeDirectory.open(path) else { return false }
        return CachePattern.Area.allCases.contains { folder.entry($0.rawValue) != nil }
    }
}
