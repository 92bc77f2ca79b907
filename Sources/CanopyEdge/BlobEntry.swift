import Atomics
import CanopyStore
import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One stored blob as the edge knows it: the same object for every deployment that has the blob
/// (the body cache interns entries by content hash), so twenty previews that share a file share its
/// bytes in memory and its open descriptor. A deployment holds entries, never bytes: the bytes are
/// in the body cache while they are worth their memory, and otherwise sent from the blob file.
final class BlobEntry: Sendable {
    let sha256: String
    let size: Int64
    /// The store's root; the blob's path is made from it only when the file is opened.
    let storeRoot: String
    /// Small enough for the body cache; larger blobs are always sent with sendfile.
    let cacheable: Bool
    let cache: BodyCache
    /// The bytes, while the body cache holds them (set and cleared only by the cache, under its lock).
    let bytes = ManagedAtomic<CachedBytes?>(nil)
    /// `referenced` (CLOCK's bit: set on use, cleared by the hand as it passes) and `filling` (a
    /// background read is queued or running: one per entry at a time), in one word.
    let flags = ManagedAtomic<Int>(0)
    static let referenced = 1
    static let filling = 2

    init(sha256: String, size: Int64, storeRoot: String, cache: BodyCache) {
        self.sha256 = sha256
        self.size = size
        self.storeRoot = storeRoot
        self.cache = cache
        self.cacheable = size <= ServedDeployment.memoryLimit && size <= cache.budget
    }

    var path: String { DeploymentStore.blobPath(root: storeRoot, sha256: sha256) }

    /// Where a response's bytes come from now.
    enum Source {
        /// In the body cache (a hit).
        case memory(ByteBuffer)
        /// Not cached: the blob file, open; a small blob's first use also queues a fill.
        case file(SharedBlob, miss: Bool)
        /// The blob file cannot be opened (removed or unreadable): the store is damaged.
        case unavailable
    }

}

extension BlobEntry.Source {
    /// Whether this was a body-cache hit (nil: the blob is too large to be cached, or unreadable).
    var cacheHit: Bool? {
        switch self {
        case .memory: return true
        case .file(_, let miss): return miss ? false : nil
        case .unavailable: return nil
        }
    }
}

extension BlobEntry {
    /// The hit path: one atomic load, and a reference bit written only when it is not set already.
    @inline(__always)
    func source() -> Source {
        if let cached = bytes.load(ordering: .acquiring) {
            if flags.load(ordering: .relaxed) & Self.referenced == 0 {
                _ = flags.loadThenBitwiseOr(with: Self.referenced, ordering: .relaxed)
            }
            return .memory(cached.buffer)
        }
        return sourceOnMiss()
    }

    @inline(never)
    private func sourceOnMiss() -> Source {
        if cacheable { cache.fill(self) }
        guard let blob = cache.descriptor(for: self) else { return .unavailable }
        return .file(blob, miss: cacheable)
    }
}

/// A blob's bytes in memory, immutable.
final class CachedBytes: AtomicReference, Sendable {
    let buffer: ByteBuffer
    init(_ buffer: ByteBuffer) { self.buffer = buffer }
}

/// A blob file open for sendfile: one descriptor for the whole process, wrapped in one NIOFileHandle
/// per event loop (NIO lets one thread at a time use a NIOFileHandle; sendfile and pread take their
/// own offsets, so the loops can share the descriptor). Reference-counted: a response's file part
/// keeps it (and so the descriptor) alive until its write completes, even after the descriptor
/// cache has let it go; the descriptor closes with the last user.
final class SharedBlob: AtomicReference, Sendable {
    let handles: [NIOFileHandle]
    let size: Int64
    private let fd: CInt

    init?(path: String, size: Int64, lanes: Int) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        self.fd = fd
        self.size = size
        self.handles = (0..<max(1, lanes)).map { _ in NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: fd) }
    }

    @inline(__always)
    func handle(lane: Int) -> NIOFileHandle { handles[lane % handles.count] }

    deinit {
        // Each handle only borrows the descriptor: take it back from all, then close it once.
        for handle in handles { _ = try? handle.takeDescriptorOwnership() }
        _ = close(fd)
    }
}
