/// Relative paths inside a repository (appRoot, artifact and cache folders), resolved once for
/// builds and for `canopy validate`.
public enum RelativePath {
    /// Resolves `.`, `..` and empty parts; nil when the path climbs above its start.
    public static func resolve(_ parts: [String]) -> String? {
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

    /// `path` split at `/` and resolved; nil when it climbs above its start.
    public static func resolve(_ path: String) -> String? {
        resolve(path.split(separator: "/").map(String.init))
    }
}
