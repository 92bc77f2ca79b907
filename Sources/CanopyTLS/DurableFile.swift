import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes files so that a crash leaves either the old content or the new, never a torn file:
/// a temporary file in the same folder, written and fsynced, renamed over the target, then the
/// folder fsynced. The file gets its mode before any byte is written (keys are never readable by others).
public enum DurableFile {
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
        let folder = (path as NSString).deletingLastPathComponent
        let temporary =
            folder + "/." + (path as NSString).lastPathComponent
            + ".\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw failure("create", temporary) }
        var ok = false
        defer {
            close(fd)
            if !ok { unlink(temporary) }
        }
        guard fchmod(fd, mode) == 0 else { throw failure("chmod", temporary) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw failure("write", temporary) }
            written += n
        }
        guard fsync(fd) == 0 else { throw failure("fsync", temporary) }
        guard rename(temporary, path) == 0 else { throw failure("rename", path) }
        ok = true
        syncFolder(folder)
    }

    /// Points the symbolic link `path` at `target` in one rename (a reader sees the old target or
    /// the new, never none), then fsyncs the folder.
    public static func link(_ path: String, to target: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        let temporary = folder + "/.link.\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        guard symlink(target, temporary) == 0 else { throw failure("link", temporary) }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw failure("rename", path)
        }
        syncFolder(folder)
    }

    /// Makes a rename in `folder` durable.
    static func syncFolder(_ folder: String) {
        let dir = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 {
            _ = fsync(dir)
            close(dir)
        }
    }

    /// Makes a folder (and its parents) with this mode when missing.
    public static func makeFolder(_ path: String, mode: Int = 0o700) throws {
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: mode])
    }

    static func failure(_ operation: String, _ path: String) -> CertificateStoreError {
        CertificateStoreError("cannot \(operation) \(path): \(String(cString: strerror(errno)))")
    }
}

/// A certificate store operation that failed, with the path and the system's reason.
public struct CertificateStoreError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
