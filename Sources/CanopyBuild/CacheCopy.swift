import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One walk of a cache save or restore over one area: copies the entries the cache's patterns
/// select from a source folder into a destination, by descriptor, never following a link.
///
/// - Links are copied as links (their text, never their target), and a link on the way to a cached
///   path is refused with a warning.
/// - Nothing that exists at the destination is replaced or written through: a file already there
///   (one that came from the checkout) is kept.
/// - When saving for a build user, only files that user owns are saved (a hard link to another
///   user's file is not).
struct CacheCopy {
    let area: CachePattern.Area
    let includes: [CachePattern]
    let excludes: [CachePattern]
    /// When saving for a build user: the owner every saved file must have.
    let requiredOwner: BuildUser?
    /// The destination's base folder, to show refused destination paths as the user wrote them.
    let destinationBase: String
    var tally = CacheTally()
    /// Destination paths already reported as refused.
    private var reported: Set<String> = []

    init(area: CachePattern.Area, cache: BuildCache, requiredOwner: BuildUser?, destinationBase: String) {
        self.area = area
        self.destinationBase = destinationBase
        includes = cache.includes.filter { $0.area == area }
        excludes = cache.excludes.filter { $0.area == area }
        self.requiredOwner = requiredOwner
    }

    // MARK: - Selection

    func isIncluded(_ relative: String) -> Bool { includes.contains { $0.glob.matches(relative) } }

    func isExcluded(_ relative: String) -> Bool { excludes.contains { $0.glob.matches(relative) } }

    /// Whether a cached path may lie below `relative`: it is on the way to, or below, a pattern's
    /// fixed prefix.
    func leadsToCachedPaths(_ relative: String) -> Bool {
        let parts = relative.split(separator: "/").map(String.init)
        return includes.contains { pattern in
            let shared = min(parts.count, pattern.prefix.count)
            return Array(parts.prefix(shared)) == Array(pattern.prefix.prefix(shared))
        }
    }

    /// The pattern a link at `relative` keeps from being cached, if any: one whose fixed prefix
    /// goes through it, or one that would match something inside it.
    func patternBlocked(by relative: String) -> CachePattern? {
        let parts = relative.split(separator: "/").map(String.init)
        return includes.first { pattern in
            (pattern.prefix.count > parts.count && Array(pattern.prefix.prefix(parts.count)) == parts)
                || pattern.glob.matches(relative + "/x")
        }
    }

    /// A destination path as the user reads it.
    func shown(_ path: String) -> String {
        let base = destinationBase.hasSuffix("/") ? destinationBase : destinationBase + "/"
        return path.hasPrefix(base) ? CachePattern.shown(String(path.dropFirst(base.count)), in: area) : path
    }

    // MARK: - Walking

    /// Copies the selected entries below `source` into `destination`. `included` is true inside a
    /// folder a pattern matched (everything in it is selected, less the exclusions).
    mutating func copyChildren(
        of source: SafeDirectory, into destination: LazyDirectory, relative: String, included: Bool
    ) {
        let names: [String]
        do throws(SafeIOError) { names = try source.names() } catch {
            tally.errors.append("\(error)")
            return
        }
        for name in names {
            if area == .checkout && relative.isEmpty && name == ".git" { continue }
            let path = relative.isEmpty ? name : relative + "/" + name
            if isExcluded(path) { continue }
            let selected = included || isIncluded(path)
            guard selected || leadsToCachedPaths(path), let info = source.entry(name) else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                let inner: SafeDirectory
                do throws(SafeIOError) { inner = try source.openDirectory(name) } catch {
                    tally.errors.append("\(error)")
                    continue
                }
                let target = destination.child(name, source: info)
                if selected { _ = use(target, for: path) }
                copyChildren(of: inner, into: target, relative: path, included: selected)
                target.finish()
            case S_IFLNK:
                if selected {
                    copyLink(name, info: info, from: source, into: destination, path: path)
                } else if let pattern = patternBlocked(by: path) {
                    tally.refusedLinks.append((CachePattern.shown(path, in: area), pattern.text))
                }
            case S_IFREG:
                guard selected else { continue }
                if let requiredOwner, info.st_uid != requiredOwner.uid {
                    tally.notOwned.append(CachePattern.shown(path, in: area))
                    continue
                }
                copyFile(name, info: info, from: source, into: destination, path: path)
            default:
                continue
            }
        }
    }

    /// The destination folder, or nil after recording why it cannot be written into.
    private mutating func use(_ destination: LazyDirectory, for path: String) -> SafeDirectory? {
        switch destination.get() {
        case .success(let folder): return folder
        case .failure(let refusal):
            guard reported.insert(refusal.path).inserted else { return nil }
            switch refusal {
            case .link(let link): tally.refusedLinks.append((shown(link), CachePattern.shown(path, in: area)))
            case .occupied: tally.kept += 1
            case .unwritable(let folder): tally.unwritable.append(folder)
            case .failed(let error): tally.errors.append("\(error)")
            }
            return nil
        }
    }

    /// The destination folder when an entry may be created in it, or nil after recording why not.
    private mutating func writable(_ destination: LazyDirectory, for path: String) -> SafeDirectory? {
        guard let folder = use(destination, for: path) else { return nil }
        if let refusal = destination.mayCreate() {
            if reported.insert(refusal.path).inserted { tally.unwritable.append(refusal.path) }
            return nil
        }
        return folder
    }

    /// An entry that could not be created: one already there is kept, anything else is an error.
    private mutating func notCreated(_ error: SafeIOError) {
        if error.code == EEXIST { tally.kept += 1 } else { tally.errors.append("\(error)") }
    }

    private mutating func copyFile(
        _ name: String, info: stat, from source: SafeDirectory, into destination: LazyDirectory, path: String
    ) {
        guard let folder = writable(destination, for: path) else { return }
        do throws(SafeIOError) {
            let input = try source.openFile(name)
            defer { close(input) }
            let output: Int32
            do throws(SafeIOError) { output = try folder.createFile(name) } catch {
                notCreated(error)
                return
            }
            defer { close(output) }
            tally.bytes += try SafeDirectory.copyContent(from: input, to: output, path: folder.childPath(name))
            _ = fchmod(output, info.st_mode & 0o777)
            var times = [info.st_atim, info.st_mtim]
            _ = futimens(output, &times)
            destination.own(name, in: folder)
            tally.files += 1
        } catch {
            tally.errors.append("\(error)")
        }
    }

    private mutating func copyLink(
        _ name: String, info: stat, from source: SafeDirectory, into destination: LazyDirectory, path: String
    ) {
        guard let folder = writable(destination, for: path) else { return }
        do throws(SafeIOError) {
            let text = try source.readLink(name)
            do throws(SafeIOError) { try folder.makeLink(name, to: text) } catch {
                notCreated(error)
                return
            }
            folder.setLinkTimes(name, from: info)
            destination.own(name, in: folder)
            tally.links += 1
        } catch {
            tally.errors.append("\(error)")
        }
    }
}

/// What a cache save or restore did, for the build log.
struct CacheTally {
    var files = 0
    var links = 0
    var bytes: Int64 = 0
    /// Entries left as they were because the destination already had them (from the checkout).
    var kept = 0
    /// (the link, the cache path it blocked).
    var refusedLinks: [(String, String)] = []
    /// Files not saved because the build user does not own them.
    var notOwned: [String] = []
    /// Folders the build user may not write to, where nothing was restored.
    var unwritable: [String] = []
    var errors: [String] = []

    mutating func add(_ other: CacheTally) {
        files += other.files
        links += other.links
        bytes += other.bytes
        kept += other.kept
        refusedLinks += other.refusedLinks
        notOwned += other.notOwned
        unwritable += other.unwritable
        errors += other.errors
    }
}
