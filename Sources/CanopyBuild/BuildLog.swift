import CanopySpec
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The build's log file: output arrives in chunks, is split into lines, masked, timestamped and appended
/// at once (so a reader sees it while the build runs). Every line of a build's log goes through one
/// of these, whoever writes it (the control plane's notes before and after, the runner's in between).
///
/// `@unchecked Sendable`: every mutable field is read and written only while holding `lock`.
public final class BuildLog: @unchecked Sendable {
    private let lock = NSLock()
    private let fd: Int32
    private let secrets: [String]
    private let maxBytes: Int
    private let onLog: (@Sendable (String) -> Void)?
    private var pending: [UInt8] = []
    private var outputBytes = 0
    private var exceeded = false
    private var closed = false

    /// Opens `path` for appending (creating it and its folder): lines already there stay, so the
    /// control plane's first lines survive the runner opening the same log. Blocking.
    /// `onLog` receives every line written, in order, once masked.
    public init(path: String, secrets: Set<String>, maxBytes: Int, onLog: (@Sendable (String) -> Void)?) throws {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw BuildFailure(message: "cannot open the build log \(path): \(String(cString: strerror(errno)))")
        }
        self.fd = fd
        self.secrets = secrets.filter { !$0.isEmpty }.sorted { $0.count > $1.count }
        self.maxBytes = maxBytes
        self.onLog = onLog
    }

    deinit { close(fd) }

    /// True once the commands wrote more than `maxBytes`.
    var limitExceeded: Bool { lock.withLock { exceeded } }

    /// A line from Canopy itself (not counted against the output limit). Blocking (one `write`).
    public func note(_ line: String) {
        lock.withLock {
            for part in line.split(separator: "\n", omittingEmptySubsequences: false) {
                emitLocked(String(part))
            }
        }
    }

    /// Output of a build process. Returns false when the output limit has been passed.
    @discardableResult
    func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        lock.withLock {
            if exceeded || closed { return !exceeded }
            outputBytes += bytes.count
            if outputBytes > maxBytes {
                exceeded = true
                return false
            }
            pending.append(contentsOf: bytes)
            var start = 0
            while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
                emitLocked(String(decoding: pending[start..<newline], as: UTF8.self))
                start = newline + 1
            }
            pending.removeFirst(start)
            if pending.count > 64 * 1024 {
                emitLocked(String(decoding: pending, as: UTF8.self))
                pending.removeAll()
            }
            return true
        }
    }

    /// Writes a trailing partial line, if any.
    func flushPartialLine() {
        lock.withLock {
            if !pending.isEmpty {
                emitLocked(String(decoding: pending, as: UTF8.self))
                pending.removeAll()
            }
        }
    }

    private func emitLocked(_ raw: String) {
        var line = raw
        if line.hasSuffix("\r") { line.removeLast() }
        for secret in secrets { line = line.replacingOccurrences(of: secret, with: "***") }
        let stamped = "\(Timestamp.now()) \(line)\n"
        var bytes = Array(stamped.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                break
            }
            offset += written
        }
        bytes.removeAll()
        onLog?(line)
    }
}
