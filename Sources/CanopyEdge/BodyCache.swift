import Atomics
import Dispatch
import NIOConcurrencyHelpers
import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The edge's bytes, for the whole process: one content-addressed cache shared by every deployment
/// of every site (entries are interned by blob hash), bounded by a byte budget and evicted by CLOCK
/// (a reference bit per entry, set on use, cleared by the hand). A miss is served from the blob
/// file at once while a background read (off the event loops) fills the cache for the next request,
/// so correctness never depends on the cache. Open blob files are cached the same way, bounded by count.
///
/// The hit path takes no lock: the entry's bytes are one atomic load. Admission, eviction and
/// interning take `state`'s lock, with O(1) work per entry.
public final class BodyCache: Sendable {
    /// Bytes the cache may hold.
    public let budget: Int
    /// Blob files the descriptor cache keeps open.
    public let maxOpenBlobs: Int
    /// Event loops: each open blob has one NIOFileHandle per loop.
    let lanes: Int
    private let state = NIOLockedValueBox(State())
    /// The served variants (a blob in one coding with its head lines), interned like the entries.
    let variants = VariantTable()
    private let fills = DispatchQueue(label: "canopy.body-cache.fill", qos: .utility)
    /// Hits and misses per event loop, written only by that loop (as TrafficCounters).
    private let lanesCounters: [LaneCounters]

    final class LaneCounters: Sendable {
        let hits = ManagedAtomic<Int>(0)
        let misses = ManagedAtomic<Int>(0)
        let padding = (ManagedAtomic<Int>(0), ManagedAtomic<Int>(0), ManagedAtomic<Int>(0))
    }

    struct State {
        /// Every entry some loaded deployment (or the cache) holds, by hash; dead ones are swept
        /// when the table has doubled since the last sweep.
        var interned: [String: Weak] = [:]
        var liveAtLastSweep = 0
        var resident: [BlobEntry] = []
        var residentBytes = 0
        var peakResidentBytes = 0
        var hand = 0
        /// Open blob files by entry (held, so that its identity is not reused), and CLOCK's ring of them.
        var open: [ObjectIdentifier: OpenBlob] = [:]
        var openRing: [ObjectIdentifier] = []
        var openHand = 0
        var peakOpen = 0
        var evictions = 0
        var fills = 0
    }

    struct OpenBlob {
        let entry: BlobEntry
        let blob: SharedBlob
        var referenced = false
    }

    struct Weak {
        weak var entry: BlobEntry?
    }

    public init(budget: Int, maxOpenBlobs: Int = 1024, lanes: Int) {
        self.budget = max(0, budget)
        self.maxOpenBlobs = max(1, maxOpenBlobs)
        self.lanes = max(1, lanes)
        self.lanesCounters = (0..<max(1, lanes)).map { _ in LaneCounters() }
    }

    // MARK: Interning

    /// The entries for blobs `(sha256, size)`, one lock for the lot: an entry that exists is shared.
    func entries(_ blobs: [(sha256: String, size: Int64)], storeRoot: String) -> [BlobEntry] {
        state.withLockedValue { state in
            let made = blobs.map { blob in
                if let known = state.interned[blob.sha256]?.entry { return known }
                let entry = BlobEntry(sha256: blob.sha256, size: blob.size, storeRoot: storeRoot, cache: self)
                state.interned[blob.sha256] = Weak(entry: entry)
                return entry
            }
            if state.interned.count > 2 * state.liveAtLastSweep + 1024 {
                state.interned = state.interned.filter { $0.value.entry != nil }
                state.liveAtLastSweep = state.interned.count
            }
            return made
        }
    }

    // MARK: Bodies

    /// Queues a background read of `entry` (once at a time per entry); the read admits the bytes.
    func fill(_ entry: BlobEntry) {
        let before = entry.flags.loadThenBitwiseOr(with: BlobEntry.filling, ordering: .acquiring)
        guard before & BlobEntry.filling == 0 else { return }
        fills.async { [self] in
            defer { _ = entry.flags.loadThenBitwiseAnd(with: ~BlobEntry.filling, ordering: .releasing) }
            guard let buffer = Self.read(path: entry.path, size: Int(entry.size)) else { return }
            admit(entry, CachedBytes(buffer))
        }
    }

    /// Makes room by CLOCK and installs the bytes. Evicted entries are released after the lock is
    /// let go (an entry's last release must not run under it).
    private func admit(_ entry: BlobEntry, _ bytes: CachedBytes) {
        let size = Int(entry.size)
        var evicted: [BlobEntry] = []
        var closed: OpenBlob?
        state.withLockedValue { state in
            guard entry.bytes.load(ordering: .relaxed) == nil, size <= budget else { return }
            while state.residentBytes + size > budget, !state.resident.isEmpty {
                if state.hand >= state.resident.count { state.hand = 0 }
                let candidate = state.resident[state.hand]
                let was = candidate.flags.loadThenBitwiseAnd(with: ~BlobEntry.referenced, ordering: .relaxed)
                if was & BlobEntry.referenced != 0 {
                    state.hand += 1
                    continue
                }
                state.resident.swapAt(state.hand, state.resident.count - 1)
                state.resident.removeLast()
                candidate.bytes.store(nil, ordering: .releasing)
                state.residentBytes -= Int(candidate.size)
                state.evictions += 1
                evicted.append(candidate)
            }
            _ = entry.flags.loadThenBitwiseAnd(with: ~BlobEntry.referenced, ordering: .relaxed)
            entry.bytes.store(bytes, ordering: .releasing)
            state.resident.append(entry)
            state.residentBytes += size
            state.peakResidentBytes = max(state.peakResidentBytes, state.residentBytes)
            state.fills += 1
            // Cached bytes need no descriptor: close it (its ring slot goes at the hand's next pass).
            closed = state.open.removeValue(forKey: ObjectIdentifier(entry))
        }
        withExtendedLifetime((evicted, closed)) {}
    }

    /// The whole blob file, or nil when it cannot be read or has another length than the manifest says.
    static func read(path: String, size: Int) -> ByteBuffer? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { _ = close(fd) }
        var buffer = ByteBufferAllocator().buffer(capacity: size)
        var complete = false
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
            var done = 0
            while done < size {
                let n = pread(fd, raw.baseAddress! + done, size - done, off_t(done))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return done }
                done += n
            }
            var probe: UInt8 = 0
            complete = pread(fd, &probe, 1, off_t(size)) == 0  // nothing beyond the expected length
            return done
        }
        return complete ? buffer : nil
    }

    // MARK: Descriptors

    /// `entry`'s blob file, open: the shared descriptor, or one opened now (one `open` on the
    /// caller's thread, outside the lock, as nginx's open_file_cache does on a miss) and kept,
    /// closing the least recently used one past `maxOpenBlobs`. A response still sending from a
    /// descriptor the cache let go holds it (SharedBlob is reference-counted) until it is done.
    func descriptor(for entry: BlobEntry) -> SharedBlob? {
        let key = ObjectIdentifier(entry)
        let known = state.withLockedValue { state -> SharedBlob? in
            guard let slot = state.open[key] else { return nil }
            if !slot.referenced { state.open[key]!.referenced = true }
            return slot.blob
        }
        if let known { return known }
        guard let opened = SharedBlob(path: entry.path, size: entry.size, lanes: lanes) else { return nil }
        var released: [SharedBlob] = []
        let blob = state.withLockedValue { state -> SharedBlob in
            if let raced = state.open[key] {  // another loop opened it meanwhile; ours closes below
                released.append(opened)
                return raced.blob
            }
            if state.openRing.count > 2 * maxOpenBlobs {  // slots of descriptors closed on admission
                state.openRing = state.openRing.filter { state.open[$0] != nil }
                state.openHand = 0
            }
            while state.open.count >= maxOpenBlobs {
                if state.openHand >= state.openRing.count { state.openHand = 0 }
                let candidate = state.openRing[state.openHand]
                guard let slot = state.open[candidate] else {  // closed on admission
                    state.openRing.swapAt(state.openHand, state.openRing.count - 1)
                    state.openRing.removeLast()
                    continue
                }
                if slot.referenced {
                    state.open[candidate]!.referenced = false
                    state.openHand += 1
                    continue
                }
                state.openRing.swapAt(state.openHand, state.openRing.count - 1)
                state.openRing.removeLast()
                if let slot = state.open.removeValue(forKey: candidate) { released.append(slot.blob) }
            }
            state.open[key] = OpenBlob(entry: entry, blob: opened)
            state.openRing.append(key)
            state.peakOpen = max(state.peakOpen, state.open.count)
            return opened
        }
        withExtendedLifetime(released) {}
        return blob
    }

    // MARK: Stats

    /// Called only from the event loop that owns `lane`.
    @inline(__always)
    func record(hit: Bool, lane: Int) {
        let counters = lanesCounters[lane % lanesCounters.count]
        (hit ? counters.hits : counters.misses).ownerAdd(1)
    }

    /// What the cache holds and has done.
    public struct Stats: Sendable, Equatable {
        public var budget: Int
        public var residentBytes: Int
        /// The most the cache has held at once.
        public var peakResidentBytes: Int
        public var residentBlobs: Int
        public var hits: Int
        public var misses: Int
        public var evictions: Int
        public var fills: Int
        public var openBlobs: Int
        public var peakOpenBlobs: Int
        public var maxOpenBlobs: Int
    }

    public var stats: Stats {
        let hits = lanesCounters.reduce(0) { $0 + $1.hits.load(ordering: .relaxed) }
        let misses = lanesCounters.reduce(0) { $0 + $1.misses.load(ordering: .relaxed) }
        return state.withLockedValue { s in
            Stats(
                budget: budget, residentBytes: s.residentBytes, peakResidentBytes: s.peakResidentBytes,
                residentBlobs: s.resident.count, hits: hits, misses: misses, evictions: s.evictions, fills: s.fills,
                openBlobs: s.open.count, peakOpenBlobs: s.peakOpen, maxOpenBlobs: maxOpenBlobs)
        }
    }

    /// Drops every cached body and open descriptor (at shutdown: entries refer to the cache).
    func removeAll() {
        let dropped = state.withLockedValue { state -> ([BlobEntry], [ObjectIdentifier: OpenBlob]) in
            let dropped = (state.resident, state.open)
            for entry in state.resident { entry.bytes.store(nil, ordering: .releasing) }
            state.resident = []
            state.open = [:]
            state.openRing = []
            state.residentBytes = 0
            return dropped
        }
        withExtendedLifetime(dropped) {}
    }
}
