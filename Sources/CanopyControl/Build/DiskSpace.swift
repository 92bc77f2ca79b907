import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Free space on the file systems a build writes to, so that a build a full disk stopped says so.
enum DiskSpace {
    /// Below this, a file system counts as full (a build's failure is then put down to it).
    static let fullBelowBytes: Int64 = 1 << 20

    /// Bytes an unprivileged writer may still use on the file system holding `path`; nil if unknown.
    static func available(at path: String) -> Int64? {
        var st = statvfs()
        guard statvfs(path, &st) == 0 else { return nil }
        return Int64(st.f_bavail) * Int64(st.f_frsize)
    }

    /// A sentence for a failed build when one of `paths` is (nearly) full or `message` says so; nil
    /// otherwise.
    static func fullDiskNote(paths: [String], message: String) -> String? {
        let full = paths.filter { (available(at: $0) ?? .max) < fullBelowBytes }
        guard !full.isEmpty || message.contains("No space left on device") else { return nil }
        let which = full.isEmpty ? paths.prefix(1).joined() : full.joined(separator: ", ")
        return "The disk is full (\(which)): free space there, then push again or run `canopy build`."
            + " What was served stays served."
    }
}
