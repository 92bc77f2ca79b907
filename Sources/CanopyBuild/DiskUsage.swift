import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The disk a build uses: the blocks allocated (`st_blocks`, so a sparse file counts what it
/// really takes) to everything in its folders and, for a uid of its own, to what that uid made in
/// the shared temporary folders. Walked by descriptor, never through a symbolic link (a link
/// counts as itself), each hard-linked file once. Blocking.
struct DiskUsage {
    /// Folders deeper than this are not descended into (no real build nests so deep).
    static let maxDepth = 512
    /// The shared temporary folders a build's uid can write (as `BuildUser.removeTemporaryFiles`).
    static let temporaryFolders = ["/tmp", "/var/tmp", "/dev/shm"]

    private var seen: Set<[UInt64]> = []
    private(set) var bytes: Int64 = 0

    /// Measures `folders`, plus the entries `uid` owns at the top of the temporary folders.
    static func measure(_ folders: [String], temporaryFilesOf uid: uid_t?) -> Int64 {
        var usage = DiskUsage()
        for folder in folders {
            if let directory = try? SafeDirectory.open(folder) { usage.add(directory, depth: 0) }
        }
        if let uid {
            for folder in temporaryFolders {
                guard let directory = try? SafeDirectory.open(folder) else { continue }
                for name in (try? directory.names()) ?? [] {
                    guard let info = directory.entry(name), info.st_uid == uid else { continue }
                    usage.add(entry: name, info: info, in: directory, depth: 0)
                }
            }
        }
        return usage.bytes
    }

    private mutating func add(_ directory: SafeDirectory, depth: Int) {
        if let info = directory.status() { count(info) }
        guard depth < Self.maxDepth else { return }
        for name in (try? directory.names()) ?? [] {
            guard let info = directory.entry(name) else { continue }
            add(entry: name, info: info, in: directory, depth: depth)
        }
    }

    private mutating func add(entry name: String, info: stat, in directory: SafeDirectory, depth: Int) {
        if info.st_mode & S_IFMT == S_IFDIR {
            if let inner = try? directory.openDirectory(name) { add(inner, depth: depth + 1) }
        } else {
            count(info)
        }
    }

    private mutating func count(_ info: stat) {
        if info.st_nlink > 1 && info.st_mode & S_IFMT != S_IFDIR {
            guard seen.insert([UInt64(info.st_dev), UInt64(info.st_ino)]).inserted else { return }
        }
        bytes += Int64(info.st_blocks) * 512
    }
}
