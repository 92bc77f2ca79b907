import CanopySpec
import CanopyStore
import Foundation
import NIOCore

/// A deployment ready to serve: its path table and every file's response heads, built once at load,
/// off the event loops, from the manifest alone. The bodies are the body cache's (shared by every
/// deployment, bounded by its budget); what is not cached is sent from the blob file. The manifest
/// itself is not kept: its file list is a second copy of `files` (half of what a preview cost).
public final class ServedDeployment: Sendable {
    public let id: String
    public let site: String
    public let commit: String
    let files: [String: ServedFile]
    /// Files under the clean URLs that also reach them: `about.html` as `about`, `docs/index.html`
    /// as `docs/`, `index.html` as `` (the site root). An entry is the same object as in `files`
    /// unless header rules give the clean URL other headers (rules match the requested path).
    let cleanFiles: [String: ServedFile]
    /// The deployment's own `404.html`, if it has one.
    let notFoundPage: ServedFile?
    let rules: CompiledRules
    /// Some rule applies only to visitors of given countries (it needs `--geoip`).
    public var hasCountryRules: Bool { rules.hasCountryRules }
    /// Canopy's own 404 for this deployment (when it has no 404.html), plain and for previews.
    let notFound: CannedAnswer
    let notFoundNoindex: CannedAnswer

    /// Files up to this size may be served from the body cache; larger ones always with sendfile,
    /// which copies no bytes through user space (a 1 MiB body written from memory cost ~40% of
    /// nginx's throughput).
    static let memoryLimit: Int64 = 128 << 10

    /// Rule files that configure serving and are never served themselves.
    static let ruleFileNames: Set<String> = [
        "_redirects", "_headers", "customHttp.yml", "redirects.json", "netlify.toml",
    ]

    init(
        id: String, site: String, commit: String, files: [String: ServedFile], cleanFiles: [String: ServedFile] = [:],
        notFoundPage: ServedFile?, rules: CompiledRules
    ) {
        self.id = id
        self.site = site
        self.commit = commit
        self.files = files
        self.cleanFiles = cleanFiles
        self.notFoundPage = notFoundPage
        self.rules = rules
        let extra = "X-Canopy-Deployment: \(id)\r\n"
        notFound = CannedAnswer(status: 404, extra: extra, body: "Not found.")
        notFoundNoindex = CannedAnswer(status: 404, extra: extra + "X-Robots-Tag: noindex\r\n", body: "Not found.")
    }

    /// Loads a deployment for serving: reads its rule files and precomputes every file's headers.
    /// No file body is read: the bytes come from `cache`, which every deployment shares (a blob
    /// two deployments have is one entry). Blocking (the rule files): run it off the event loops.
    /// `capabilities`: what the edge evaluates of rules (`EdgeServer.ruleCapabilities`); a rule file
    /// with a condition beyond them fails to load, with its line.
    public static func load(
        manifest: DeploymentManifest, storeRoot: String, siteRules: SiteRules, cache: BodyCache,
        capabilities: RuleCapabilities = .basic
    ) throws -> ServedDeployment {
        let rules = try CompiledRules.load(
            manifest: manifest, siteRules: siteRules, capabilities: capabilities,
            read: { hex in
                try String(contentsOfFile: DeploymentStore.blobPath(root: storeRoot, sha256: hex), encoding: .utf8)
            })
        let served = manifest.files.filter { !ruleFileNames.contains($0.key) }
        var wanted: [VariantTable.Wanted] = []
        wanted.reserveCapacity(served.count * 2)
        for (_, entry) in served {
            let tag = entry.sha256.prefix(32)
            wanted.append(.init(sha256: entry.sha256, size: entry.size, etag: "\"\(tag)\"", coding: .identity))
            if let gzip = entry.gzip {
                wanted.append(.init(sha256: gzip.sha256, size: gzip.size, etag: "\"\(tag)-gz\"", coding: .gzip))
            }
            if let br = entry.brotli {
                wanted.append(.init(sha256: br.sha256, size: br.size, etag: "\"\(tag)-br\"", coding: .brotli))
            }
            if let zstd = entry.zstd {
                wanted.append(.init(sha256: zstd.sha256, size: zstd.size, etag: "\"\(tag)-zst\"", coding: .zstd))
            }
        }
        var interned = cache.variants.variants(wanted, cache: cache, storeRoot: storeRoot).makeIterator()
        var heads = HeadInterner(
            lastModified: HTTPDate.format(Int(manifest.commitTime.timeIntervalSince1970)),
            lastModifiedSeconds: Int(manifest.commitTime.timeIntervalSince1970), deploymentID: manifest.id)
        var files: [String: ServedFile] = [:]
        var cleanFiles: [String: ServedFile] = [:]
        files.reserveCapacity(served.count)
        for (path, entry) in served {
            var variants = ServedVariants(identity: interned.next()!)
            if entry.gzip != nil { variants.gzip = interned.next()! }
            if entry.brotli != nil { variants.brotli = interned.next()! }
            if entry.zstd != nil { variants.zstd = interned.next()! }
            let defaultCache = CachePolicy.defaultCacheControl(path: path, contentType: entry.contentType)
            let vary = variants.count > 1 || Compressibility.isCompressible(contentType: entry.contentType)
            func served(requestPath: String) -> ServedFile {
                let custom = rules.headers(for: requestPath, file: "/" + path)
                return ServedFile(
                    path: path, contentType: entry.contentType, cacheControl: custom.cacheControl ?? defaultCache,
                    defaultCacheControl: defaultCache, varyAcceptEncoding: vary, extraHeaders: custom.lines,
                    variants: variants, heads: &heads)
            }
            let file = served(requestPath: "/" + path)
            files[path] = file
            if let clean = cleanURL(path) {
                let alias = rules.headerRules.isEmpty ? file : served(requestPath: "/" + clean)
                cleanFiles[clean] = alias.sameHeaders(as: file) ? file : alias
            }
        }
        return ServedDeployment(
            id: manifest.id, site: manifest.site, commit: manifest.commit, files: files, cleanFiles: cleanFiles,
            notFoundPage: files["404.html"],
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
