import Foundation

extension DeploymentStore {
    /// Ingests a build artifact folder as the immutable deployment `id` and returns its manifest.
    ///
    /// Every regular file below `directory` becomes a served path (`/`-separated, relative, as named
    /// on disk). A `X.br` or `X.zst` file next to a file `X` is not served itself but attached as
    /// X's brotli/zstd variant. Compressible files of at least 256 bytes get a gzip variant (zlib,
    /// level 9) when it is smaller. Contents are stored once per SHA-256 across all deployments.
    ///
    /// Symbolic links are refused (nothing outside `directory` is ever read), as are FIFOs, sockets
    /// and devices. Blobs and the manifest are written to `tmp/`, flushed and renamed into place, so
    /// a crash never leaves a partial blob or manifest under its final name.
    ///
    /// The new deployment is a root for garbage collection from the start until the caller calls
    /// ``releaseIngest(_:)`` (once it is recorded, or given up): a collection that runs between the
    /// ingest and its record never deletes it.
    ///
    /// Blocking: run it off the event loops. Ingests are serialised with garbage collection.
    /// - Throws: ``DeploymentStoreError`` naming the file involved; `.duplicateDeployment` if `id` exists.
    public func ingest(
        directory: String, id: String, site: String, branch: String, commit: String, commitTime: Date
    ) throws -> DeploymentManifest {
        var cache = IngestCache()
        return try ingest(
            directory: directory, id: id, site: site, branch: branch, commit: commit, commitTime: commitTime,
            cache: &cache)
    }

    /// ``ingest(directory:id:site:branch:commit:commitTime:)`` with what the last ingest of these
    /// files learned (`cache`, empty the first time): a file whose stamp is unchanged is not read
    /// again (see ``IngestCache`` for why it still has those bytes). `cache` becomes this
    /// ingest's, for the next.
    public func ingest(
        directory: String, id: String, site: String, branch: String, commit: String, commitTime: Date,
        cache: inout IngestCache
    ) throws -> DeploymentManifest {
        try Self.validateID(id)
        mutationLock.lock()
        defer { mutationLock.unlock() }
        if POSIX.exists(manifestPath(id)) { throw DeploymentStoreError.duplicateDeployment(id: id) }
        // Held from the first blob on, until the caller has recorded it (``releaseIngest(_:)``).
        holds.withLock { _ = $0.inFlight.insert(id) }
        var ingested = false
        defer { if !ingested { holds.withLock { _ = $0.inFlight.remove(id) } } }

        let base = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        guard let st = try POSIX.lstat(base) else { throw DeploymentStoreError.notADirectory(path: directory) }
        if POSIX.isSymlink(st) { throw DeploymentStoreError.symlinkRefused(path: directory) }
        guard POSIX.isDirectory(st) else { throw DeploymentStoreError.notADirectory(path: directory) }

        var found: [String: stat] = [:]
        try Self.collectFiles(base: base, relative: "", into: &found)
        let relativePaths = Array(found.keys)
        let all = Set(relativePaths)
        func sidecarBase(_ path: String) -> (base: String, isBrotli: Bool)? {
            for (suffix, isBrotli) in [(".br", true), (".zst", false)] where path.hasSuffix(suffix) {
                let stem = String(path.dropLast(suffix.count))
                if all.contains(stem) && !stem.isEmpty && !stem.hasSuffix("/") { return (stem, isBrotli) }
            }
            return nil
        }

        // The cache names the blobs of its deployment, which are all there while its manifest is.
        let known = cache.deployment.map { POSIX.exists(manifestPath($0)) } == true ? cache : IngestCache()
        var learned = IngestSession.Learned()
        let session = try IngestSession(store: self, tag: id)
        func store(_ path: String, gzipWanted: Bool) throws -> (identity: BlobRef, gzip: BlobRef?) {
            try session.store(
                path: base + "/" + path, seen: found[path]!, gzipWanted: gzipWanted, known: known, learned: &learned)
        }
        var files: [String: FileEntry] = [:]
        var sidecars: [(path: String, base: String, isBrotli: Bool)] = []
        for path in relativePaths.sorted() {
            if let sidecar = sidecarBase(path) {
                sidecars.append((path, sidecar.base, sidecar.isBrotli))
                continue
            }
            let type = ContentType.forPath(path)
            let stored = try store(path, gzipWanted: Compressibility.isCompressible(contentType: type))
            files[path] = FileEntry(
                sha256: stored.identity.sha256, size: stored.identity.size, contentType: type, gzip: stored.gzip)
        }
        for sidecar in sidecars {
            let stored = try store(sidecar.path, gzipWanted: false)
            if sidecar.isBrotli {
                files[sidecar.base]?.brotli = stored.identity
            } else {
                files[sidecar.base]?.zstd = stored.identity
            }
        }
        try session.commit()

        let manifest = DeploymentManifest(
            id: id, site: site, branch: branch, commit: commit, commitTime: commitTime, createdAt: Date(),
            files: files)
        try writeManifest(manifest)
        ingested = true
        cache = IngestCache(deployment: id, learned: learned.entries, hits: learned.hits, reads: learned.reads)
        return manifest
    }

    // MARK: Walking

    /// Adds the relative paths of all regular files below `base/relative`, with their `lstat`,
    /// refusing links and special files.
    static func collectFiles(base: String, relative: String, into paths: inout [String: stat]) throws {
        let folder = relative.isEmpty ? base : base + "/" + relative
        for (name, st) in try POSIX.directoryListing(folder) {
            let rel = relative.isEmpty ? name : relative + "/" + name
            let full = base + "/" + rel
            if POSIX.isSymlink(st) { throw DeploymentStoreError.symlinkRefused(path: full) }
            if POSIX.isDirectory(st) {
                try collectFiles(base: base, relative: rel, into: &paths)
            } else if POSIX.isRegular(st) {
                paths[rel] = st
            } else {
                throw DeploymentStoreError.unsupportedFileType(path: full)
            }
        }
    }

    // MARK: Manifest

    /// Writes the manifest to `tmp/`, fsyncs it, links it into `manifests/<id>.json` (failing if it
    /// exists) and fsyncs the folder.
    package func writeManifest(_ manifest: DeploymentManifest) throws {
        let data = manifest.jsonBytes()
        let tmp = "\(tmpDirectory)/manifest-\(manifest.id)"
        try POSIX.unlinkIfPresent(tmp)
        let fd = try POSIX.createExclusive(tmp)
        defer { unlink(tmp) }
        do {
            defer { close(fd) }
            try data.withUnsafeBytes { try POSIX.writeAll(fd, $0, path: tmp) }
            try POSIX.fsync(fd, path: tmp)
        }
        let final = manifestPath(manifest.id)
        if link(tmp, final) != 0 {
            if errno == EEXIST { throw DeploymentStoreError.duplicateDeployment(id: manifest.id) }
            throw POSIX.fail("link to '\(final)'", tmp)
        }
        try POSIX.fsyncDirectory(manifestsDirectory)
    }
}
