import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Thin throwing wrappers over the POSIX calls the store uses (blocking; never call on an event loop).
enum POSIX {
    static func fail(_ operation: String, _ path: String) -> DeploymentStoreError {
        .io(operation: operation, path: path, errno: errno)
    }

    /// Opens `path` read-only without following a final symbolic link.
    static func openForReading(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 {
            if errno == ELOOP { throw DeploymentStoreError.symlinkRefused(path: path) }
            throw fail("open", path)
        }
        return fd
    }

    /// Creates a new file (failing if it exists) for writing.
    static func createExclusive(_ path: String) throws -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 { throw fail("create", path) }
        return fd
    }

    /// Reads up to `count` bytes into `buffer`, retrying on EINTR; returns 0 at end of file.
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, path: String) throws -> Int {
        while true {
            let n = Foundation.read(fd, buffer, count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw fail("read", path)
        }
    }

    /// Reads until `count` bytes or end of file; returns the number read.
    static func readFully(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, path: String) throws -> Int {
        var total = 0
        while total < count {
            let n = try read(fd, into: buffer + total, count: count - total, path: path)
            if n == 0 { break }
            total += n
        }
        return total
    }

    /// Writes all of `buffer`, retrying short writes and EINTR.
    static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, path: String) throws {
        var offset = 0
        while offset < buffer.count {
            let n = Foundation.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("write", path)
            }
            offset += n
        }
    }

    static func fsync(_ fd: Int32, path: String) throws {
        if Foundation.fsync(fd) != 0 { throw fail("fsync", path) }
    }

    /// Opens a directory and fsyncs it, so that renames into it are durable.
    static func fsyncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw fail("open directory", path) }
        defer { close(fd) }
        try fsync(fd, path: path)
    }

    /// Flushes every written file of the file system holding `path` (one call instead of one fsync
    /// per file). Falls back to `sync()` where `syncfs` does not exist.
    static func syncFileSystem(containing path: String) throws {
        #if canImport(Glibc)
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if fd < 0 { throw fail("open directory", path) }
            defer { close(fd) }
            // Glibc's Swift overlay does not import the GNU-only `syncfs`; look it up at run time.
            if let syncfs = linuxSyncfs {
                if syncfs(fd) != 0 { throw fail("syncfs", path) }
            } else {
                sync()
            }
        #else
            sync()
        #endif
    }

    #if canImport(Glibc)
        typealias SyncfsFunction = @convention(c) (Int32) -> Int32
        static let linuxSyncfs: SyncfsFunction? = {
            guard let symbol = dlsym(nil, "syncfs") else { return nil }
            return unsafeBitCast(symbol, to: SyncfsFunction.self)
        }()
    #endif

    static func rename(_ from: String, _ to: String) throws {
        if Foundation.rename(from, to) != 0 { throw fail("rename to '\(to)'", from) }
    }

    /// `lstat`, or nil when the path does not exist.
    static func lstat(_ path: String) throws -> stat? {
        var st = stat()
        if Foundation.lstat(path, &st) != 0 {
            if errno == ENOENT { return nil }
            throw fail("lstat", path)
        }
        return st
    }

    static func fstat(_ fd: Int32, path: String) throws -> stat {
        var st = stat()
        if Foundation.fstat(fd, &st) != 0 { throw fail("fstat", path) }
        return st
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Creates a directory; an existing directory is fine.
    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw fail("mkdir", path) }
    }

    static func unlinkIfPresent(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT { throw fail("unlink", path) }
    }

    static func isSymlink(_ st: stat) -> Bool { (st.st_mode & S_IFMT) == S_IFLNK }
    static func isRegular(_ st: stat) -> Bool { (st.st_mode & S_IFMT) == S_IFREG }
    static func isDirectory(_ st: stat) -> Bool { (st.st_mode & S_IFMT) == S_IFDIR }

    /// Names in a directory (not `.`/`..`), as stored on disk.
    /// A folder's entries with their `lstat`, each looked up from the open folder (`fstatat`), not
    /// by its whole path again. An entry that vanishes meanwhile is left out.
    static func directoryListing(_ path: String) throws -> [(name: String, info: stat)] {
        guard let dir = opendir(path) else { throw fail("opendir", path) }
        defer { closedir(dir) }
        let fd = dirfd(dir)
        var entries: [(name: String, info: stat)] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { tuple in
                tuple.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: tuple.pointee)) {
                    String(cString: $0)
                }
            }
            if name == "." || name == ".." { continue }
            var info = stat()
            if fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) != 0 {
                if errno == ENOENT { continue }
                throw fail("lstat", path + "/" + name)
            }
            entries.append((name, info))
        }
        return entries
    }

    static func directoryEntries(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw fail("opendir", path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { tuple in
                tuple.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: tuple.pointee)) {
                    String(cString: $0)
                }
            }
            if name == "." || name == ".." { continue }
            names.append(name)
        }
        return names
    }
}
