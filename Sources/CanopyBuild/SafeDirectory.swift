import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A folder held open by descriptor. Every name below it is resolved one component at a time with
/// `O_NOFOLLOW` (or `AT_SYMLINK_NOFOLLOW`), so a symbolic link is always seen as a link and never
/// followed, even if a build swaps a folder for a link while root is working in it.
final class SafeDirectory {
    let fd: Int32
    /// The path this folder was reached by, for messages only.
    let path: String

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// Opens a folder Canopy chose (its parents are Canopy's); the folder itself must not be a link.
    static func open(_ path: String) throws(SafeIOError) -> SafeDirectory {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw SafeIOError("open", path) }
        return SafeDirectory(fd: fd, path: path)
    }

    func childPath(_ name: String) -> String { path == "/" ? "/" + name : path + "/" + name }

    /// The entry's own status (a link's, not its target's); nil when it does not exist.
    func entry(_ name: String) -> stat? {
        var info = stat()
        return fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 ? info : nil
    }

    /// The folder's own status.
    func status() -> stat? {
        var info = stat()
        return fstat(fd, &info) == 0 ? info : nil
    }

    /// The names in the folder, without `.` and `..`, sorted.
    func names() throws(SafeIOError) -> [String] {
        let copy = dup(fd)
        guard copy >= 0, let stream = fdopendir(copy) else {
            if copy >= 0 { close(copy) }
            throw SafeIOError("list", path)
        }
        defer { closedir(stream) }
        rewinddir(stream)
        var names: [String] = []
        while let item = readdir(stream) {
            let name = withUnsafePointer(to: &item.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Opens a child folder; fails with ELOOP or ENOTDIR when the child is a link or not a folder.
    func openDirectory(_ name: String) throws(SafeIOError) -> SafeDirectory {
        let child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard child >= 0 else { throw SafeIOError("open", childPath(name)) }
        return SafeDirectory(fd: child, path: childPath(name))
    }

    /// Creates a child folder (private to its owner until `finish` sets its mode) and opens it.
    func makeDirectory(_ name: String) throws(SafeIOError) -> SafeDirectory {
        guard mkdirat(fd, name, 0o700) == 0 else { throw SafeIOError("create folder", childPath(name)) }
        return try openDirectory(name)
    }

    /// Opens a regular file for reading. A link, a FIFO or a device is refused (non-blocking open,
    /// then a check of what was opened).
    func openFile(_ name: String) throws(SafeIOError) -> Int32 {
        let file = openat(fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard file >= 0 else { throw SafeIOError("open", childPath(name)) }
        var info = stat()
        guard fstat(file, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            close(file)
            throw SafeIOError("open", childPath(name), errno: EINVAL)
        }
        return file
    }

    /// Creates a new file; fails with EEXIST when anything (a link included) has that name.
    func createFile(_ name: String) throws(SafeIOError) -> Int32 {
        let file = openat(fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard file >= 0 else { throw SafeIOError("create", childPath(name)) }
        return file
    }

    func readLink(_ name: String) throws(SafeIOError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlinkat(fd, name, &buffer, buffer.count - 1)
        guard count >= 0 else { throw SafeIOError("read link", childPath(name)) }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Creates a symbolic link; fails with EEXIST when the name is taken.
    func makeLink(_ name: String, to target: String) throws(SafeIOError) {
        guard symlinkat(target, fd, name) == 0 else { throw SafeIOError("create link", childPath(name)) }
    }

    /// Gives a child (never a link's target) to `uid`/`gid`.
    func chown(_ name: String, uid: uid_t, gid: gid_t) throws(SafeIOError) {
        guard fchownat(fd, name, uid, gid, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw SafeIOError("change the owner of", childPath(name))
        }
    }

    /// Sets a child link's times (a link's own, never its target's).
    func setLinkTimes(_ name: String, from info: stat) {
        var times = [info.st_atim, info.st_mtim]
        _ = utimensat(fd, name, &times, AT_SYMLINK_NOFOLLOW)
    }

    /// Removes a child and, if it is a folder, everything in it, without following links.
    func removeTree(_ name: String) {
        guard let info = entry(name) else { return }
        if info.st_mode & S_IFMT == S_IFDIR, let child = try? openDirectory(name) {
            for inner in (try? child.names()) ?? [] { child.removeTree(inner) }
            _ = unlinkat(fd, name, AT_REMOVEDIR)
        } else {
            _ = unlinkat(fd, name, 0)
        }
    }

    /// Whether `user` may create entries in this folder (owner, group or other write and search bits).
    func isWritable(by user: BuildUser) -> Bool {
        guard let info = status() else { return false }
        let mode = info.st_mode
        if info.st_uid == user.uid { return mode & S_IWUSR != 0 && mode & S_IXUSR != 0 }
        if info.st_gid == user.gid { return mode & S_IWGRP != 0 && mode & S_IXGRP != 0 }
        return mode & S_IWOTH != 0 && mode & S_IXOTH != 0
    }

    /// Copies the rest of `source` into `destination`; returns the bytes copied.
    static func copyContent(from source: Int32, to destination: Int32, path: String) throws(SafeIOError) -> Int64 {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var total: Int64 = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SafeIOError("read", path)
            }
            if count == 0 { return total }
            var offset = 0
            while offset < count {
                let written = buffer.withUnsafeBytes { write(destination, $0.baseAddress! + offset, count - offset) }
                if written < 0 {
                    if errno == EINTR { continue }
                    throw SafeIOError("write", path)
                }
                offset += written
            }
            total += Int64(count)
        }
    }
}

/// A failed file-system call during cache work: what, where, and the system's reason.
struct SafeIOError: Error, CustomStringConvertible {
    let operation: String
    let path: String
    let code: Int32

    init(_ operation: String, _ path: String, errno code: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    var description: String { "cannot \(operation) \(path): \(String(cString: strerror(code)))" }
}
