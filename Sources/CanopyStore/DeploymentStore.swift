import Foundation

/// The content-addressed store of deployments: blobs by SHA-256, gzip variants, JSON manifests.
///
/// Layout under ``root``: `blobs/<ab>/<sha256 hex>`, `manifests/<id>.json`, `tmp/` (staging, emptied
/// at open) and `gzip/<identity hex>` (a small cache: the gzip blob made for a content, or `-` when
/// gzip did not make it smaller).
///
/// All methods do blocking file I/O: call them off NIO event loops and off the cooperative pool
/// (for instance on an `NIOThreadPool`). Mutating operations (ingest, removal, garbage collection)
/// are serialised by an internal lock, so the collector never deletes a blob an ingest is reusing.
public final class DeploymentStore: Sendable {
    /// The folder holding the store.
    public let root: String
    let blobsDirectory: String
    let manifestsDirectory: String
    let tmpDirectory: String
    let gzipIndexDirectory: String
    /// Serialises ingest, manifest removal and garbage collection.
    let mutationLock = NSLock()
    /// Deployments ingested but not yet recorded by their caller: roots for garbage collection.
    let holds = IngestHoldsBox()

    /// Opens (creating if needed) a store at `root`, with its `blobs/`, `manifests/`, `tmp/` and
    /// `gzip/` folders. Leftovers in `tmp/` from an interrupted ingest are removed.
    public init(root: String) throws {
        let root = root.hasSuffix("/") && root.count > 1 ? String(root.dropLast()) : root
        self.root = root
        blobsDirectory = root + "/blobs"
        manifestsDirectory = root + "/manifests"
        tmpDirectory = root + "/tmp"
        gzipIndexDirectory = root + "/gzip"
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        } catch {
            throw DeploymentStoreError.cannotCreateStore(path: root, reason: error.localizedDescription)
        }
        for dir in [blobsDirectory, manifestsDirectory, tmpDirectory, gzipIndexDirectory] {
            try POSIX.makeDirectory(dir)
        }
        for name in try POSIX.directoryEntries(tmpDirectory) {
            try POSIX.unlinkIfPresent(tmpDirectory + "/" + name)
        }
    }

    // MARK: Reading

    /// The path of the blob with this SHA-256 (lowercase hex): `blobs/<first two hex digits>/<hex>`.
    public func blobPath(_ sha256: String) -> String {
        Self.blobPath(root: root, sha256: sha256)
    }

    /// The path of a blob in the store at `root`, for readers that hold only the store's folder.
    public static func blobPath(root: String, sha256: String) -> String {
        "\(root)/blobs/\(sha256.prefix(2))/\(sha256)"
    }

    /// Reads and decodes `manifests/<id>.json` (JSON with sorted keys; dates in `JSONEncoder`'s
    /// default form, seconds since 2001-01-01, so they round-trip exactly).
    /// - Throws: `.manifestNotFound` or `.manifestCorrupt`, naming the file.
    public func manifest(id: String) throws -> DeploymentManifest {
        try Self.validateID(id)
        let path = manifestPath(id)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DeploymentStoreError.manifestNotFound(id: id, path: path)
        }
        do {
            return try JSONDecoder().decode(DeploymentManifest.self, from: data)
        } catch {
            throw DeploymentStoreError.manifestCorrupt(id: id, path: path, reason: "\(error)")
        }
    }

    /// The ids of all stored manifests, sorted (deployment ids sort by creation time).
    public func manifestIDs() throws -> [String] {
        try POSIX.directoryEntries(manifestsDirectory)
            .filter { $0.hasSuffix(".json") }
            .map { String($0.dropLast(5)) }
            .sorted()
    }

    // MARK: Removing

    /// Deletes the manifests of these deployments (missing ones are ignored). Their blobs stay until
    /// ``collectGarbage(keeping:)``.
    public func removeManifests(_ ids: [String]) throws {
        for id in ids { try Self.validateID(id) }
        mutationLock.lock()
        defer { mutationLock.unlock() }
        for id in ids { try POSIX.unlinkIfPresent(manifestPath(id)) }
        try POSIX.fsyncDirectory(manifestsDirectory)
    }

    // MARK: Helpers

    func manifestPath(_ id: String) -> String {
        "\(manifestsDirectory)/\(id).json"
    }

    /// Ids become file names: 1-128 characters of `[a-z0-9._-]`, not starting with a dot.
    static func validateID(_ id: String) throws {
        let allowed = id.utf8.allSatisfy { c in
            (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2e || c == 0x5f || c == 0x2d
        }
        if id.isEmpty || id.utf8.count > 128 || !allowed || id.hasPrefix(".") {
            throw DeploymentStoreError.invalidID(id: id)
        }
    }
}
