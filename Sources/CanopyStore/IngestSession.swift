import Crypto
import Foundation

/// The working state of one ingest: a reused read buffer, a reused deflater and the blobs staged
/// in `tmp/` that become visible (renamed under their hash) only at ``commit()``.
final class IngestSession {
    /// Files smaller than this get no gzip variant (the header overhead eats the gain).
    static let minimumGzipSize = 256

    private let store: DeploymentStore
    private let tag: String
    /// Files up to this size are read once into memory; larger ones are streamed.
    private let buffer: UnsafeMutableRawBufferPointer
    private let deflater: GzipDeflater
    private var staged: [(tmp: String, final: String)] = []
    private var stagedHexes: Set<String> = []
    private var gzipIndexUpdates: [(identity: String, value: String)] = []
    private var counter = 0

    init(store: DeploymentStore, tag: String, bufferSize: Int = 1 << 20) throws {
        self.store = store
        self.tag = tag
        self.buffer = .allocate(byteCount: bufferSize, alignment: 16)
        self.deflater = try GzipDeflater()
    }

    deinit {
        buffer.deallocate()
        // Anything still staged was not committed: remove it.
        for item in staged { unlink(item.tmp) }
    }

    /// What `store` did with a file: its blob, its gzip variant when wanted and it helps, and the
    /// file's stamp when it may be trusted for the bytes read (`IngestCache`).
    struct Stored {
        let identity: BlobRef
        let gzip: BlobRef?
        let stamp: ContentStamp?
    }

    /// Stores the file at `path` (refusing symlinks), returning its blob and, when `gzipWanted`
    /// and it helps, its gzip variant; and its stamp, when it was the same before and after the
    /// read and its last change was settled before the read began.
    func store(path: String, gzipWanted: Bool) throws -> Stored {
        let started = ContentStamp.now()
        let fd = try POSIX.openForReading(path)
        defer { close(fd) }
        let st = try POSIX.fstat(fd, path: path)
        guard POSIX.isRegular(st) else { throw DeploymentStoreError.unsupportedFileType(path: path) }
        let stored = try store(fd: fd, path: path, gzipWanted: gzipWanted)
        let stamp = ContentStamp(st)
        let unchanged = ContentStamp(try POSIX.fstat(fd, path: path)) == stamp && stamp.isSettled(before: started)
        return Stored(identity: stored.identity, gzip: stored.gzip, stamp: unchanged ? stamp : nil)
    }

    /// What an ingest learns for the next (`IngestCache`), and how many files it knew and read.
    struct Learned {
        var entries: [IngestCache.Entry] = []
        var hits = 0
        var reads = 0
    }

    /// The file's blobs: from `known` when the stamp of its `lstat` (`seen`) is there, else read;
    /// either way, what may be trusted next time goes into `learned`.
    func store(
        path: String, seen: stat, gzipWanted: Bool, known: IngestCache, learned: inout Learned
    ) throws -> (identity: BlobRef, gzip: BlobRef?) {
        let stamp = ContentStamp(seen)
        if let content = known.content(for: stamp), content.gzipWanted == gzipWanted {
            learned.entries.append(.init(stamp: stamp, content: content))
            learned.hits += 1
            return content.blobs
        }
        let stored = try store(path: path, gzipWanted: gzipWanted)
        learned.reads += 1
        if let stamp = stored.stamp,
            let content = KnownContent(identity: stored.identity, gzip: stored.gzip, gzipWanted: gzipWanted)
        {
            learned.entries.append(.init(stamp: stamp, content: content))
        }
        return (stored.identity, stored.gzip)
    }

    private func store(fd: Int32, path: String, gzipWanted: Bool) throws -> (identity: BlobRef, gzip: BlobRef?) {

        // Hash: whole file in the buffer when it fits, else streamed in buffer-sized chunks.
        var hasher = SHA256()
        var size = try POSIX.readFully(fd, into: buffer.baseAddress!, count: buffer.count, path: path)
        let inMemory = size < buffer.count
        hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<size]))
        if !inMemory {
            while true {
                let n = try POSIX.read(fd, into: buffer.baseAddress!, count: buffer.count, path: path)
                if n == 0 { break }
                hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                size += n
            }
        }
        let hex = hasher.finalize().hexString
        let identity = BlobRef(sha256: hex, size: Int64(size))

        // Produces the file's bytes again: from memory, or by re-reading the file.
        let replay: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void = { [buffer] body in
            if inMemory {
                try body(UnsafeRawBufferPointer(rebasing: buffer[0..<size]))
            } else {
                if lseek(fd, 0, SEEK_SET) != 0 { throw POSIX.fail("lseek", path) }
                while true {
                    let n = try POSIX.read(fd, into: buffer.baseAddress!, count: buffer.count, path: path)
                    if n == 0 { break }
                    try body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                }
            }
        }

        if !isStored(hex) {
            let tmp = nextTempPath()
            let out = try POSIX.createExclusive(tmp)
            defer { close(out) }
            stage(tmp: tmp, hex: hex)
            try replay { chunk in try POSIX.writeAll(out, chunk, path: tmp) }
        }

        guard gzipWanted && size >= Self.minimumGzipSize else { return (identity, nil) }
        if let cached = try cachedGzip(for: hex) { return (identity, cached) }
        let gzip = try makeGzip(path: path, identity: identity, replay: replay)
        gzipIndexUpdates.append((hex, gzip?.sha256 ?? "-"))
        return (identity, gzip)
    }

    /// Makes the blobs visible: one file-system sync for all staged data, then atomic renames, then
    /// directory syncs; finally records the gzip cache entries.
    func commit() throws {
        if !staged.isEmpty {
            try POSIX.syncFileSystem(containing: store.tmpDirectory)
            var directories: Set<String> = []
            for item in staged {
                let dir = String(item.final[..<item.final.lastIndex(of: "/")!])
                if !directories.contains(dir) {
                    try POSIX.makeDirectory(dir)
                    directories.insert(dir)
                }
                try POSIX.rename(item.tmp, item.final)
            }
            staged.removeAll()
            for dir in directories { try POSIX.fsyncDirectory(dir) }
            try POSIX.fsyncDirectory(store.blobsDirectory)
        }
        for update in gzipIndexUpdates {
            let tmp = nextTempPath()
            let fd = try POSIX.createExclusive(tmp)
            defer { close(fd) }
            try Array(update.value.utf8).withUnsafeBytes { try POSIX.writeAll(fd, $0, path: tmp) }
            try POSIX.rename(tmp, store.gzipIndexDirectory + "/" + update.identity)
        }
        gzipIndexUpdates.removeAll()
    }

    // MARK: Helpers

    private func isStored(_ hex: String) -> Bool {
        stagedHexes.contains(hex) || POSIX.exists(store.blobPath(hex))
    }

    private func stage(tmp: String, hex: String) {
        staged.append((tmp, store.blobPath(hex)))
        stagedHexes.insert(hex)
    }

    private func nextTempPath() -> String {
        counter += 1
        return "\(store.tmpDirectory)/\(tag)-\(counter)"
    }

    /// The gzip variant recorded for this content by an earlier ingest, if still valid.
    /// `.some(nil)` means "gzip was tried and did not help".
    private func cachedGzip(for hex: String) throws -> BlobRef?? {
        guard let data = FileManager.default.contents(atPath: store.gzipIndexDirectory + "/" + hex),
            let value = String(data: data, encoding: .utf8)
        else { return nil }
        if value == "-" { return .some(nil) }
        guard value.utf8.count == 64, let st = try POSIX.lstat(store.blobPath(value)) else { return nil }
        return .some(BlobRef(sha256: value, size: Int64(st.st_size)))
    }

    /// Compresses into a staged blob; nil (and nothing kept) when the result is not smaller.
    private func makeGzip(
        path: String, identity: BlobRef, replay: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws -> BlobRef? {
        let tmp = nextTempPath()
        let out = try POSIX.createExclusive(tmp)
        var hasher = SHA256()
        var size: Int64 = 0
        do {
            defer { close(out) }
            try deflater.compress(path: path, input: replay) { piece in
                hasher.update(bufferPointer: piece)
                size += Int64(piece.count)
                try POSIX.writeAll(out, piece, path: tmp)
            }
        } catch {
            unlink(tmp)
            throw error
        }
        let hex = hasher.finalize().hexString
        if size >= identity.size || isStored(hex) {
            unlink(tmp)
            return size >= identity.size ? nil : BlobRef(sha256: hex, size: size)
        }
        stage(tmp: tmp, hex: hex)
        return BlobRef(sha256: hex, size: size)
    }
}
