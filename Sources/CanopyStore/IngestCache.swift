import Foundation

/// What an ingest learned of its files, for the next ingest of the same files: a branch's next
/// build, whose artifacts are links into the same work tree (issue #13: "hashing may use a cache
/// keyed by git blob id when files come from git unchanged"; keyed here by the file itself). A file
/// whose stamp is unchanged since its bytes were read is not read again.
///
/// Why a hit cannot give the wrong bytes: the stamp is the file's device, inode, size, mode,
/// modification and change time (nanoseconds). A write, a truncation, a chmod, a chown, a new
/// link and a change of its times (`touch -d`, which restores the modification time) all set the
/// file's change time to the present, which no call can set otherwise; a new file on a reused
/// inode starts with the present as its change time too. So a stamp equal to one taken when the
/// bytes were read means the bytes are still those, unless a change came within the clock tick
/// of the recorded change time (the kernel's file times are coarse) or the clock was set back by
/// root. An entry is therefore recorded only when the file's change time was at least
/// `settleTime` older than the start of its read (2 s on a file system with whole-second times)
/// and its stamp was the same before and after the read.
///
/// The blobs an entry names are those of `deployment`, and the cache is used only while that
/// deployment's manifest exists: garbage collection removes a manifest before its blobs, under the
/// lock that ingests hold.
public struct IngestCache: Sendable {
    /// The deployment the entries were ingested into.
    public internal(set) var deployment: String?
    /// Sorted by inode and device, one per stamp: an array holds them in about half of what a
    /// dictionary takes (it keeps a quarter to a half of its buckets empty), for each branch
    /// whose tree is kept.
    private(set) var entries: [Entry] = []
    /// Of the last ingest: the files taken from the cache, and the files read.
    public internal(set) var hits = 0
    public internal(set) var reads = 0

    struct Entry: Sendable {
        let stamp: ContentStamp
        let content: KnownContent
    }

    public init() {}

    /// How many files the cache knows.
    public var count: Int { entries.count }

    /// The cache an ingest leaves: what it `learned`, for the deployment `deployment`.
    init(deployment: String, learned: [Entry], hits: Int, reads: Int) {
        self.deployment = deployment
        let sorted = learned.sorted { ($0.stamp.inode, $0.stamp.device) < ($1.stamp.inode, $1.stamp.device) }
        // One entry per stamp (a file linked at two paths), the last learned.
        var unique: [Entry] = []
        unique.reserveCapacity(sorted.count)
        for entry in sorted {
            if let last = unique.last, last.stamp == entry.stamp {
                unique[unique.count - 1] = entry
            } else {
                unique.append(entry)
            }
        }
        entries = unique
        self.hits = hits
        self.reads = reads
    }

    /// What was stored for a file whose stamp is `stamp`, if known.
    func content(for stamp: ContentStamp) -> KnownContent? {
        var low = 0
        var high = entries.count
        let key = (stamp.inode, stamp.device)
        while low < high {
            let middle = (low + high) / 2
            let found = (entries[middle].stamp.inode, entries[middle].stamp.device)
            if found < key {
                low = middle + 1
            } else {
                high = middle
            }
        }
        var index = low
        while index < entries.count && entries[index].stamp.inode == stamp.inode {
            if entries[index].stamp == stamp { return entries[index].content }
            index += 1
        }
        return nil
    }
}

/// A file's stat stamp: what any change to it, or a new file on its inode, changes.
struct ContentStamp: Hashable, Sendable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modified: Int64
    let changed: Int64
    let mode: UInt32

    init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        changed = Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
        mode = UInt32(info.st_mode)
    }

    /// How long before a read the file's last change must be for the stamp to be trusted: well
    /// above the kernel's timestamp tick (at most 10 ms), or 2 s where times are whole seconds
    /// (a change time without nanoseconds).
    static let settleTime: Int64 = 100_000_000

    /// Whether a change after `started` (nanoseconds since 1970) must give the file another
    /// change time.
    func isSettled(before started: Int64) -> Bool {
        let margin = changed % 1_000_000_000 == 0 ? 2_000_000_000 : Self.settleTime
        return changed < started - margin
    }

    /// The present, as file times count it.
    static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}

/// What an ingest stored for one file: its blob, whether it wanted a gzip variant, and the variant
/// (nil: none, or it did not help). Digests are kept as bytes, not hex strings.
struct KnownContent: Sendable {
    let identity: Digest
    let size: Int64
    let gzipWanted: Bool
    let gzip: (digest: Digest, size: Int64)?

    init?(identity: BlobRef, gzip: BlobRef?, gzipWanted: Bool) {
        guard let digest = Digest(hex: identity.sha256) else { return nil }
        self.identity = digest
        size = identity.size
        self.gzipWanted = gzipWanted
        if let gzip {
            guard let gzipDigest = Digest(hex: gzip.sha256) else { return nil }
            self.gzip = (gzipDigest, gzip.size)
        } else {
            self.gzip = nil
        }
    }

    var blobs: (identity: BlobRef, gzip: BlobRef?) {
        (BlobRef(sha256: identity.hex, size: size), gzip.map { BlobRef(sha256: $0.digest.hex, size: $0.size) })
    }
}

/// A SHA-256 digest as 32 bytes.
struct Digest: Sendable {
    let words: (UInt64, UInt64, UInt64, UInt64)

    init?(hex: String) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 64 else { return nil }
        var words: [UInt64] = [0, 0, 0, 0]
        for (index, character) in utf8.enumerated() {
            let value: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = character - UInt8(ascii: "a") + 10
            default: return nil
            }
            words[index / 16] = words[index / 16] << 4 | UInt64(value)
        }
        self.words = (words[0], words[1], words[2], words[3])
    }

    var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes = [UInt8]()
        bytes.reserveCapacity(64)
        for word in [words.0, words.1, words.2, words.3] {
            for shift in stride(from: 60, through: 0, by: -4) { bytes.append(digits[Int(word >> UInt64(shift) & 0xf)]) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
