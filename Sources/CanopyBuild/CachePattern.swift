import CanopySpec

/// One entry of `cache.paths`, resolved: which area it names (the checkout, the build's HOME, or a
/// folder elsewhere on the machine), its glob relative to that area, and whether it is a `!` exclusion.
///
/// As Amplify documents for `cache` (https://docs.aws.amazon.com/amplify/latest/userguide/yml-specification-syntax.html):
/// relative paths are read from the application root; a glob caches exactly the paths it matches
/// (`packages/*/node_modules/**/*` is the `node_modules` folders' contents, never `packages`).
/// A matched folder stands for everything in it.
struct CachePattern: Sendable {
    enum Area: String, CaseIterable, Sendable {
        /// The repository checkout.
        case checkout
        /// The build's HOME (`~/…`, `$HOME/…`).
        case home
        /// An absolute path outside the checkout, such as `/root/.cache/Cypress`.
        case absolute
    }

    /// As written in amplify.yml.
    let text: String
    let area: Area
    /// Relative to the area's base, normalised (`frontend/node_modules/**/*`).
    let glob: Glob
    /// The leading segments without wildcards (`frontend`, `node_modules`): where the walk starts.
    let prefix: [String]
    let excluded: Bool

    /// Resolves a `cache.paths` entry; a warning when it cannot be cached.
    static func resolve(_ written: String, appRoot: String) -> Result<CachePattern, CacheWarning> {
        var text = Substring(written.trimmingCharacters(in: .whitespaces))
        let excluded = text.hasPrefix("!")
        if excluded { text = text.dropFirst() }
        var area = Area.checkout
        for home in ["~", "$HOME", "${HOME}"] where text == home || text.hasPrefix(home + "/") {
            area = .home
            text = text.dropFirst(home.count)
            break
        }
        if area == .checkout && text.hasPrefix("/") { area = .absolute }
        var start: [String] = []
        if area == .checkout { start = appRoot.split(separator: "/").map(String.init) }

        var segments: [String] = []
        var sawWildcard = false
        for part in (start + text.split(separator: "/").map(String.init)) where part != "." {
            if part == ".." {
                guard !sawWildcard else {
                    return .failure(CacheWarning("cache path `\(written)` has `..` after a wildcard; it is not cached"))
                }
                guard !segments.isEmpty else {
                    return .failure(
                        CacheWarning(
                            "cache path `\(written)` is outside the repository and is not cached; use a folder "
                                + "inside it (such as node_modules/**/*), one in HOME (~/.npm/**/*) or an absolute path"
                        ))
                }
                segments.removeLast()
                continue
            }
            if part.contains(where: { "*?[{".contains($0) }) { sawWildcard = true }
            segments.append(part)
        }
        let prefix = Array(segments.prefix { !$0.contains(where: { "*?[{".contains($0) }) })
        if prefix.isEmpty && !excluded && area != .home {
            let what = area == .checkout ? "the whole repository" : "the whole disk"
            return .failure(
                CacheWarning(
                    "cache path `\(written)` names \(what) and is not cached; name the folders to keep "
                        + "(such as node_modules/**/*)"))
        }
        let pattern = segments.isEmpty ? "**" : segments.joined(separator: "/")
        return .success(
            CachePattern(text: written, area: area, glob: Glob(pattern), prefix: prefix, excluded: excluded))
    }

    /// `path` as a user reads it: relative to the repository, `~/…`, or absolute.
    static func shown(_ relative: String, in area: Area) -> String {
        switch area {
        case .checkout: relative
        case .home: "~/" + relative
        case .absolute: "/" + relative
        }
    }
}

/// A `cache.paths` problem that does not stop the build: logged as a warning.
struct CacheWarning: Error, Sendable {
    let message: String
    init(_ message: String) { self.message = message }
}
