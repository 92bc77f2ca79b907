import Foundation

/// The immutable description of one deployment: every served path and the blob holding its bytes.
///
/// On disk (under the data folder's `store/`):
/// - `blobs/<first two hex digits>/<sha256 hex>`: file contents, one copy per distinct content;
/// - `blobs/<first two hex digits>/<sha256 hex>` again for each gzip variant (a variant is a blob too);
/// - `manifests/<deployment id>.json`: this struct, JSON-encoded, written and fsynced before use.
public struct DeploymentManifest: Sendable, Codable, Hashable {
    public var id: String
    public var site: String
    public var branch: String
    public var commit: String
    /// Commit time, used for `Last-Modified`.
    public var commitTime: Date
    public var createdAt: Date
    /// Served paths relative to the artifact root, `/`-separated, no leading slash (`index.html`,
    /// `assets/app.3f2a9c.js`).
    public var files: [String: FileEntry]

    public init(
        id: String, site: String, branch: String, commit: String, commitTime: Date, createdAt: Date,
        files: [String: FileEntry]
    ) {
        self.id = id
        self.site = site
        self.branch = branch
        self.commit = commit
        self.commitTime = commitTime
        self.createdAt = createdAt
        self.files = files
    }

    /// Total bytes of the deployment's files (identity encoding).
    public var totalSize: Int64 { files.values.reduce(0) { $0 + $1.size } }
}

/// One served file.
public struct FileEntry: Sendable, Codable, Hashable {
    /// SHA-256 of the identity bytes, lowercase hex; also the strong ETag.
    public var sha256: String
    public var size: Int64
    public var contentType: String
    /// gzip variant made at ingest with zlib, when the type is compressible and it is smaller.
    public var gzip: BlobRef?
    /// `<file>.br` sidecar shipped in the deployment, if any.
    public var brotli: BlobRef?
    /// `<file>.zst` sidecar shipped in the deployment, if any.
    public var zstd: BlobRef?

    public init(
        sha256: String, size: Int64, contentType: String, gzip: BlobRef? = nil, brotli: BlobRef? = nil,
        zstd: BlobRef? = nil
    ) {
        self.sha256 = sha256
        self.size = size
        self.contentType = contentType
        self.gzip = gzip
        self.brotli = brotli
        self.zstd = zstd
    }
}

/// A blob in the store, by content hash.
public struct BlobRef: Sendable, Codable, Hashable {
    public var sha256: String
    public var size: Int64

    public init(sha256: String, size: Int64) {
        self.sha256 = sha256
        self.size = size
    }
}
