import Foundation

extension DeploymentStore {
    /// Deletes every manifest whose id is not in `liveIDs`, then every blob that no remaining
    /// manifest references (identity, gzip, brotli or zstd), and stale gzip cache entries.
    ///
    /// Blocking; serialised with ingest, so a blob an ingest is reusing is never removed under it.
    /// - Returns: how many blob files were deleted and their total size.
    @discardableResult
    public func collectGarbage(keeping liveIDs: Set<String>) throws -> (removedBlobs: Int, freedBytes: Int64) {
        mutationLock.lock()
        defer { mutationLock.unlock() }

        var referenced: Set<String> = []
        for id in try manifestIDs() {
            if !liveIDs.contains(id) {
                try POSIX.unlinkIfPresent(manifestPath(id))
                continue
            }
            let manifest = try self.manifest(id: id)
            for entry in manifest.files.values {
                referenced.insert(entry.sha256)
                for variant in [entry.gzip, entry.brotli, entry.zstd] {
                    if let variant { referenced.insert(variant.sha256) }
                }
            }
        }
        try POSIX.fsyncDirectory(manifestsDirectory)

        var removed = 0
        var freed: Int64 = 0
        for prefix in try POSIX.directoryEntries(blobsDirectory) {
            let folder = blobsDirectory + "/" + prefix
            for name in try POSIX.directoryEntries(folder) where !referenced.contains(name) {
                let path = folder + "/" + name
                guard let st = try POSIX.lstat(path) else { continue }
                try POSIX.unlinkIfPresent(path)
                removed += 1
                freed += Int64(st.st_size)
            }
        }

        // Cache entries whose content or gzip blob is gone would only cost a lookup; drop them.
        for name in try POSIX.directoryEntries(gzipIndexDirectory) where !referenced.contains(name) {
            try POSIX.unlinkIfPresent(gzipIndexDirectory + "/" + name)
        }
        return (removed, freed)
    }
}
