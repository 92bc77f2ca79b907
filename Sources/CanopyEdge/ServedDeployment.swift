import CanopySpec
import CanopyStore
import Foundation
import NIOCore

/// A deployment ready to serve: every file's response pieces built once, at load, off the event loops.
/// Small files are held in memory; large ones are sent with sendfile from an open blob.
public final class ServedDeployment: Sendable {
    public let id: String
    public let manifest: DeploymentManifest
    let files: [String: ServedFile]
    /// Files under the clean URLs that also reach them: `about.html` as `about`, `docs/index.html`
    /// as `docs/`, `index.html` as `` (the site root). An entry is the same object as in `files`
    /// unless header rules give the clean URL other headers (rules match the requested path).
    let cleanFiles: [String: ServedFile]
    /// The deployment's own `404.html`, if it has one.
    let notFoundPage: ServedFile?
    let rules: CompiledRules
    /// Canopy's own 404 for this deployment (when it has no 404.html), plain and for previews.
    let notFound: CannedAnswer
    let notFoundNoindex: CannedAnswer

    /// Files up to this size are served from memory; larger ones with sendfile, which copies no
    /// bytes through user space (a 1 MiB body written from memory cost ~40% of nginx's throughput).
    static let memoryLimit: Int64 = 128 << 10

    /// Rule files that configure serving and are never served themselves.
    static let ruleFileNames: Set<String> = [
        "_redirects", "_headers", "customHttp.yml", "redirects.json", "netlify.toml",
    ]

    init(
        id: String, manifest: DeploymentManifest, files: [String: ServedFile], cleanFiles: [String: ServedFile] = [:],
        notFoundPage: ServedFile?, rules: CompiledRules
    ) {
        self.id = id
        self.manifest = manifest
        self.files = files
        self.cleanFiles = cleanFiles
        self.notFoundPage = notFoundPage
        self.rules = rules
        let extra = "X-Canopy-Deployment: \(id)\r\n"
        notFound = CannedAnswer(status: 404, extra: extra, body: "Not found.")
        notFoundNoindex = CannedAnswer(status: 404, extra: extra + "X-Robots-Tag: noindex\r\n", body: "Not found.")
    }

    /// Loads a deployment for serving: reads its rule files, precomputes every file's headers, and
    /// reads small files into memory. `lanes` is the edge's number of event loops: each large blob
    /// is opened once per event loop (see `SharedBlob`). Blocking: run it off the event loops.
    public static func load(
        manifest: DeploymentManifest, storeRoot: String, siteRules: SiteRules, lanes: Int
    ) throws -> ServedDeployment {
        func blobPath(_ hex: String) -> String { DeploymentStore.blobPath(root: storeRoot, sha256: hex) }
        var cache: [String: ServedBody] = [:]
        func body(_ hex: String, _ size: Int64) throws -> ServedBody {
            if let known = cache[hex] { return known }
            let made: ServedBody
            if size <= memoryLimit {
                let data = try Data(contentsOf: URL(fileURLWithPath: blobPath(hex)))
                guard data.count == size else {
                    throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: blobPath(hex)])
                }
                made = .memory(ByteBuffer(bytes: data))
            } else {
                made = .file(try SharedBlob(path: blobPath(hex), size: size, lanes: lanes))
            }
            cache[hex] = made
            return made
        }
        let rules = try CompiledRules.load(
            manifest: manifest, siteRules: siteRules,
            read: { hex in
                try String(contentsOfFile: blobPath(hex), encoding: .utf8)
            })
        let lastModified = HTTPDate.format(Int(manifest.commitTime.timeIntervalSince1970))
        var files: [String: ServedFile] = [:]
        var cleanFiles: [String: ServedFile] = [:]
        files.reserveCapacity(manifest.files.count)
        for (path, entry) in manifest.files where !ruleFileNames.contains(path) {
            var variants: [ContentCoding: ServedVariant] = [
                .identity: ServedVariant(
                    body: try body(entry.sha256, entry.size), size: entry.size, etag: "\"\(entry.sha256.prefix(32))\"")
            ]
            if let gzip = entry.gzip {
                variants[.gzip] = ServedVariant(
                    body: try body(gzip.sha256, gzip.size), size: gzip.size, etag: "\"\(entry.sha256.prefix(32))-gz\"",
                    coding: .gzip)
            }
            if let br = entry.brotli {
                variants[.brotli] = ServedVariant(
                    body: try body(br.sha256, br.size), size: br.size, etag: "\"\(entry.sha256.prefix(32))-br\"",
                    coding: .brotli)
            }
            if let zstd = entry.zstd {
                variants[.zstd] = ServedVariant(
                    body: try body(zstd.sha256, zstd.size), size: zstd.size, etag: "\"\(entry.sha256.prefix(32))-zst\"",
                    coding: .zstd)
            }
            let defaultCache = CachePolicy.defaultCacheControl(path: path, contentType: entry.contentType)
            func served(requestPath: String) -> ServedFile {
                let custom = rules.headers(for: requestPath, file: "/" + path)
                return ServedFile(
                    path: path, contentType: entry.contentType, lastModified: lastModified,
                    lastModifiedSeconds: Int(manifest.commitTime.timeIntervalSince1970),
                    cacheControl: custom.cacheControl ?? defaultCache, defaultCacheControl: defaultCache,
                    varyAcceptEncoding: variants.count > 1
                        || Compressibility.isCompressible(contentType: entry.contentType),
                    extraHeaders: custom.lines, variants: variants, deploymentID: manifest.id)
            }
            let file = served(requestPath: "/" + path)
            files[path] = file
            if let clean = cleanURL(path) {
                let alias = rules.headerRules.isEmpty ? file : served(requestPath: "/" + clean)
                cleanFiles[clean] = alias.sameHeaders(as: file) ? file : alias
            }
        }
        return ServedDeployment(
            id: manifest.id, manifest: manifest, files: files, cleanFiles: cleanFiles, notFoundPage: files["404.html"],
            rules: rules)
    }
}

/// The clean URL path (without the leading `/`) that also serves `path`: `about` for `about.html`,
/// `docs/` for `docs/index.html`, `` for `index.html`; nil for other files.
func cleanURL(_ path: String) -> String? {
    if path == "index.html" { return "" }
    if path.hasSuffix("/index.html") { return String(path.dropLast("index.html".count)) }
    if path.hasSuffix(".html") && path.count > 5 { return String(path.dropLast(5)) }
    return nil
}

/// Content codings a file may be served in.
enum ContentCoding: String, Sendable, Hashable {
    case identity
    case gzip
    case brotli = "br"
    case zstd
}

/// Bytes of one variant: in memory, or an open blob for sendfile.
enum ServedBody: Sendable {
    case memory(ByteBuffer)
    case file(SharedBlob)
}

/// A large blob, open for sendfile once per event loop. NIO lets one thread at a time use a
/// NIOFileHandle (a second concurrent user gets an "in use" error and its connection fails), so
/// each event loop writes from its own handle; the handles close when the last user lets go.
final class SharedBlob: Sendable {
    let handles: [NIOFileHandle]
    let size: Int64

    init(path: String, size: Int64, lanes: Int) throws {
        var handles: [NIOFileHandle] = []
        do {
            for _ in 0..<max(1, lanes) { handles.append(try NIOFileHandle(_deprecatedPath: path)) }
        } catch {
            for handle in handles { try? handle.close() }
            throw error
        }
        self.handles = handles
        self.size = size
    }

    @inline(__always)
    func handle(lane: Int) -> NIOFileHandle { handles[lane % handles.count] }

    deinit {
        for handle in handles { try? handle.close() }
    }
}

struct ServedVariant: Sendable {
    let body: ServedBody
    let size: Int64
    /// Strong ETag from the content hash: the same bytes have the same ETag in every deployment.
    let etag: String
    /// `Content-Length`, `ETag` and (unless identity) `Content-Encoding` lines of a full response
    /// in this coding, built once so that no request formats them.
    let fullHeaders: [UInt8]

    init(body: ServedBody, size: Int64, etag: String, coding: ContentCoding = .identity) {
        self.body = body
        self.size = size
        self.etag = etag
        var lines = "Content-Length: \(size)\r\nETag: \(etag)\r\n"
        if coding != .identity { lines += "Content-Encoding: \(coding.rawValue)\r\n" }
        self.fullHeaders = Array(lines.utf8)
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
        path: String, contentType: String, lastModified: String, lastModifiedSeconds: Int, cacheControl: String,
        defaultCacheControl: String, varyAcceptEncoding: Bool, extraHeaders: [UInt8],
        variants: [ContentCoding: ServedVariant], deploymentID: String
    ) {
        self.path = path
        self.contentType = contentType
        self.lastModified = lastModified
        self.lastModifiedSeconds = lastModifiedSeconds
        self.cacheControl = cacheControl
        self.defaultCacheControl = defaultCacheControl
        self.varyAcceptEncoding = varyAcceptEncoding
        self.extraHeaders = extraHeaders
        self.identity = variants[.identity]!
        self.gzip = variants[.gzip]
        self.brotli = variants[.brotli]
        self.zstd = variants[.zstd]
        var common = "Content-Type: \(contentType)\r\nLast-Modified: \(lastModified)\r\n"
        if varyAcceptEncoding { common += "Vary: Accept-Encoding\r\n" }
        common += "Accept-Ranges: bytes\r\nX-Canopy-Deployment: \(deploymentID)\r\nServer: canopy\r\n"
        self.baseHeaders = Array(common.utf8)
        self.commonHeaders = baseHeaders + extraHeaders
        self.cacheControlLine = Array("Cache-Control: \(cacheControl)\r\n".utf8)
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
