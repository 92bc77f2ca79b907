import Foundation

extension DeploymentStore {
    /// Deletes every manifest whose id is not in `liveIDs`, then every blob that no remaining
    /// manifest references (identity, gzip, brotli or zstd), and stale gzip cache entries.
    ///
    /// Deployments being ingested, or released after `mark` (see ``garbageCollectionMark()``), are
    /// kept whatever `liveIDs` says: the caller's list may have been read before they were recorded.
    ///
    /// Blocking; serialised with ingest, so a blob an ingest is reusing is never removed under it.
    /// - Returns: how many blob files were deleted and their total size.
    @discardableResult
    public func collectGarbage(
        keeping liveIDs: Set<String>, since mark: UInt64? = nil
    ) throws -> (removedBlobs: Int, freedBytes: Int64) {
        mutationLock.lock()
        defer { mutationLock.unlock() }
        let liveIDs = liveIDs.union(holds.withLock { $0.roots(since: mark) })

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

/// Deployments that garbage collection must keep although the caller's list of live ones may not
/// name them yet: ingested and not yet recorded (`inFlight`), or recorded so recently that a
/// collection's list, read before, may have missed them (`released`, with the release's number).
struct IngestHolds: Sendable {
    var inFlight: Set<String> = []
    var released: [String: UInt64] = [:]
    var releases: UInt64 = 0

    /// The ids to keep for a collection whose caller read its live list after `mark`; forgets the
    /// releases that list must have seen.
    mutating func roots(since mark: UInt64?) -> Set<String> {
        let mark = mark ?? releases
        released = released.filter { $0.value > mark }
        return inFlight.union(released.keys)
    }
}

/// The store's ``IngestHolds`` behind a lock of their own (never held across I/O).
///
/// `@unchecked Sendable`: `value` is only read and written inside `withLock`, holding `lock`.
final class IngestHoldsBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value = IngestHolds()

    func withLock<T>(_ body: (inout IngestHolds) -> T) -> T {
        lock.withLock { body(&value) }
    }
}

extension DeploymentStore {
    // MARK: Holding ingests

    /// Ends an ingest's hold: call it once the deployment is recorded (or will never be). A
    /// collection whose mark was taken before this call still keeps it.
    public func releaseIngest(_ id: String) {
        holds.withLock { holds in
            guard holds.inFlight.remove(id) != nil else { return }
            holds.releases += 1
            holds.released[id] = holds.releases
        }
    }

    /// Take this before reading the list of live deployments, and pass it to
    /// ``collectGarbage(keeping:since:)``: ingests released after it are kept.
    public func garbageCollectionMark() -> UInt64 {
        holds.withLock { $0.releases }
    }
}
