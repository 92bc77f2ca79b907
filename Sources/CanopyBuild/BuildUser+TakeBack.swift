import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension BuildUser {
    /// After the last stage, before root reads the checkout (artifacts, cache, rule files): every
    /// folder becomes root's and unwritable for others, so that no process the build left behind
    /// can swap a folder for a link while root reads by path. Files stay the build user's.
    /// Walks top-down by descriptor, never through a link: once a folder is root's, its entries
    /// cannot change, and a link found in it is left alone. Returns problems for the log.
    static func takeBack(_ path: String) -> [String] {
        guard let folder = try? SafeDirectory.open(path) else { return ["cannot open \(path) to take it back"] }
        return takeBack(folder)
    }

    private static func takeBack(_ folder: SafeDirectory) -> [String] {
        var problems: [String] = []
        var info = stat()
        if fchown(folder.fd, 0, 0) != 0 || fstat(folder.fd, &info) != 0
            || fchmod(folder.fd, info.st_mode & 0o755) != 0
        {
            problems.append("cannot take back \(folder.path): \(String(cString: strerror(errno)))")
        }
        for name in (try? folder.names()) ?? [] {
            guard let entry = folder.entry(name), entry.st_mode & S_IFMT == S_IFDIR,
                let inner = try? folder.openDirectory(name)
            else { continue }
            problems += takeBack(inner)
        }
        return problems
    }
}
