import Foundation

extension BuildRunner {
    /// Kills every process still carrying `CANOPY_BUILD_ID=<buildID>` in its environment: after the
    /// server died mid-build (`kill -9`, a crash), nothing ended that build's processes. Blocking
    /// (reads `/proc`). Returns how many were killed.
    public static func stopLeftovers(buildID: String) -> Int {
        Stragglers.kill(buildID: buildID)
    }

    /// Removes the scratch folders (HOME, stage scripts) a build left when the server died under it.
    /// Blocking.
    public func removeLeftoverScratch(buildID: String) {
        let safe = String(buildID.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }.prefix(64))
        let prefix = "canopy-build-\(safe)-"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: scratchRoot)) ?? []
        where name.hasPrefix(prefix) {
            try? FileManager.default.removeItem(atPath: scratchRoot + "/" + name)
        }
    }
}
