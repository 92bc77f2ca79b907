import NIOConcurrencyHelpers

/// One coding of a served file: its blob and the head lines that depend on it. Interned for the
/// whole process by ``VariantTable`` (keyed by ETag and blob), so twenty previews that share a file
/// share this object, its ETag and its head bytes, not only the blob.
final class ServedVariant: Sendable {
    /// The blob, shared with every deployment that has it.
    let body: BlobEntry
    let size: Int64
    /// Strong ETag from the content hash: the same bytes have the same ETag in every deployment.
    let etag: String
    /// `Content-Length`, `ETag` and (unless identity) `Content-Encoding` lines of a full response
    /// in this coding, built once so that no request formats them.
    let fullHeaders: [UInt8]

    init(body: BlobEntry, size: Int64, etag: String, coding: ContentCoding = .identity) {
        self.body = body
        self.size = size
        self.etag = etag
        var lines = "Content-Length: \(size)\r\nETag: \(etag)\r\n"
        if coding != .identity { lines += "Content-Encoding: \(coding.rawValue)\r\n" }
        self.fullHeaders = Array(lines.utf8)
    }
}

/// The process's served variants, interned weakly: a variant lives while a loaded deployment holds
/// it. Measured with `Scripts/bench-scale.sh` (2,000 files, 20 previews that each change one file):
/// per-variant copies were 1.4 KiB of the 1.6 KiB each preview paid per file, with the manifest.
final class VariantTable: Sendable {
    /// One variant a deployment asks for.
    struct Wanted {
        let sha256: String
        let size: Int64
        let etag: String
        let coding: ContentCoding
        var key: String { etag + sha256 }
    }

    private struct Weak {
        weak var variant: ServedVariant?
    }

    private struct State {
        var table: [String: Weak] = [:]
        var liveAtLastSweep = 0
    }

    private let state = NIOLockedValueBox(State())

    /// The variants for `wanted`, in order: known ones shared, new ones made with the cache's blob
    /// entries (interned there by hash). Off the event loops: it takes two locks, briefly.
    func variants(_ wanted: [Wanted], cache: BodyCache, storeRoot: String) -> [ServedVariant] {
        let keys = wanted.map(\.key)
        var found: [ServedVariant?] = state.withLockedValue { state in keys.map { state.table[$0]?.variant } }
        let missing = found.indices.filter { found[$0] == nil }
        guard !missing.isEmpty else { return found.map { $0! } }
        let entries = cache.entries(missing.map { (wanted[$0].sha256, wanted[$0].size) }, storeRoot: storeRoot)
        state.withLockedValue { state in
            for (index, entry) in zip(missing, entries) {
                let want = wanted[index]
                if let raced = state.table[keys[index]]?.variant {
                    found[index] = raced
                    continue
                }
                let made = ServedVariant(body: entry, size: want.size, etag: want.etag, coding: want.coding)
                state.table[keys[index]] = Weak(variant: made)
                found[index] = made
            }
            if state.table.count > 2 * state.liveAtLastSweep + 1024 {
                state.table = state.table.filter { $0.value.variant != nil }
                state.liveAtLastSweep = state.table.count
            }
        }
        return found.map { $0! }
    }

    /// Variants some loaded deployment holds (for tests and metrics).
    var live: Int { state.withLockedValue { $0.table.values.count { $0.variant != nil } } }
}

/// A file's variants, as the manifest lists them.
struct ServedVariants {
    var identity: ServedVariant
    var gzip: ServedVariant?
    var brotli: ServedVariant?
    var zstd: ServedVariant?

    var count: Int { 1 + (gzip == nil ? 0 : 1) + (brotli == nil ? 0 : 1) + (zstd == nil ? 0 : 1) }
}

/// Head pieces that many files of a deployment share (the same Content-Type and Vary lines, the
/// same Cache-Control), built once per distinct value at load: a 100,000-file deployment holds a
/// few dozen of them, not 100,000 copies.
struct HeadInterner {
    let lastModified: String
    let lastModifiedSeconds: Int
    let deploymentID: String
    private var baseHeaders: [String: [UInt8]] = [:]
    private var cacheControlLines: [String: [UInt8]] = [:]
    private var strings: [String: String] = [:]

    init(lastModified: String, lastModifiedSeconds: Int, deploymentID: String) {
        self.lastModified = lastModified
        self.lastModifiedSeconds = lastModifiedSeconds
        self.deploymentID = deploymentID
    }

    /// The one stored copy of `value`.
    mutating func string(_ value: String) -> String {
        if let known = strings[value] { return known }
        strings[value] = value
        return value
    }

    mutating func baseHeaders(contentType: String, vary: Bool) -> [UInt8] {
        let key = vary ? contentType + "\n" : contentType
        if let known = baseHeaders[key] { return known }
        var common = "Content-Type: \(contentType)\r\nLast-Modified: \(lastModified)\r\n"
        if vary { common += "Vary: Accept-Encoding\r\n" }
        common += "Accept-Ranges: bytes\r\nX-Canopy-Deployment: \(deploymentID)\r\nServer: canopy\r\n"
        let made = Array(common.utf8)
        baseHeaders[key] = made
        return made
    }

    mutating func cacheControlLine(_ value: String) -> [UInt8] {
        if let known = cacheControlLines[value] { return known }
        let made = Array("Cache-Control: \(value)\r\n".utf8)
        cacheControlLines[value] = made
        return made
    }
}

/// One served path with everything its responses need, computed at load.
final class ServedFile: Sendable {
    let path: String
    let contentType: String
    let lastModified: String
    let lastModifiedSeconds: Int
    let cacheControl: String
    /// Canopy's Cache-Control for this file when no rule sets one.
    let defaultCacheControl: String
    let varyAcceptEncoding: Bool
    /// `Name: value\r\n` lines from custom header rules (Cache-Control excluded: it is `cacheControl`).
    let extraHeaders: [UInt8]
    let identity: ServedVariant
    /// The compressed variants, as stored properties: the request path picks one without hashing.
    let gzip: ServedVariant?
    let brotli: ServedVariant?
    let zstd: ServedVariant?
    /// Header lines every 200 of this file carries, whatever the variant: Content-Type, Last-Modified,
    /// Vary, Accept-Ranges, X-Canopy-Deployment, Server, custom headers.
    let commonHeaders: [UInt8]
    /// `commonHeaders` without the custom headers (for a response whose rules differ: a rewrite).
    let baseHeaders: [UInt8]
    /// `Cache-Control: <cacheControl>\r\n`, for routes that do not rewrite it (no split, no password).
    let cacheControlLine: [UInt8]

    init(
        path: String, contentType: String, cacheControl: String, defaultCacheControl: String,
        varyAcceptEncoding: Bool, extraHeaders: [UInt8], variants: ServedVariants, heads: inout HeadInterner
    ) {
        self.path = path
        self.contentType = heads.string(contentType)
        self.lastModified = heads.lastModified
        self.lastModifiedSeconds = heads.lastModifiedSeconds
        self.cacheControl = heads.string(cacheControl)
        self.defaultCacheControl = heads.string(defaultCacheControl)
        self.varyAcceptEncoding = varyAcceptEncoding
        self.extraHeaders = extraHeaders
        self.identity = variants.identity
        self.gzip = variants.gzip
        self.brotli = variants.brotli
        self.zstd = variants.zstd
        self.baseHeaders = heads.baseHeaders(contentType: contentType, vary: varyAcceptEncoding)
        self.commonHeaders = extraHeaders.isEmpty ? baseHeaders : baseHeaders + extraHeaders
        self.cacheControlLine = heads.cacheControlLine(cacheControl)
    }

    func sameHeaders(as other: ServedFile) -> Bool {
        cacheControl == other.cacheControl && extraHeaders == other.extraHeaders
    }

    /// The variant `Accept-Encoding` asks for (identity when the file has no other).
    @inline(__always)
    func variant(for acceptEncoding: String?) -> ServedVariant {
        guard gzip != nil || brotli != nil || zstd != nil, let acceptEncoding else { return identity }
        switch EncodingNegotiation.choose(acceptEncoding, has: has) {
        case .identity: return identity
        case .gzip: return gzip ?? identity
        case .brotli: return brotli ?? identity
        case .zstd: return zstd ?? identity
        }
    }

    @inline(__always)
    private func has(_ coding: ContentCoding) -> Bool {
        switch coding {
        case .identity: return true
        case .gzip: return gzip != nil
        case .brotli: return brotli != nil
        case .zstd: return zstd != nil
        }
    }
}
