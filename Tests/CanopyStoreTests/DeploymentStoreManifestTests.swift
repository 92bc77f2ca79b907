import Foundation
import Testing

@testable import CanopyStore

@Suite struct DeploymentStoreManifestTests {
    let commitTime = Date(timeIntervalSince1970: 1_700_000_123.5)

    /// Ingests and releases the hold, as the control plane does once the deployment is recorded.
    func ingest(_ store: DeploymentStore, _ dir: String, id: String) throws -> DeploymentManifest {
        let manifest = try store.ingest(
            directory: dir, id: id, site: "example", branch: "dev", commit: "f00d", commitTime: commitTime)
        store.releaseIngest(id)
        return manifest
    }

    @Test func manifestRoundTripsThroughDiskAndAReopenedStore() throws {
        let tmp = try TempFolder()
        try tmp.write("site/index.html", text(5000))
        try tmp.write("site/index.html.br", "brotli bytes")
        try tmp.write("site/a b/ü.txt", "unicode name")
        let root = tmp.path + "/store"
        let written = try ingest(try DeploymentStore(root: root), tmp.path + "/site", id: "d20260101000000abcdef")

        let reopened = try DeploymentStore(root: root)
        #expect(try reopened.manifestIDs() == ["d20260101000000abcdef"])
        let read = try reopened.manifest(id: "d20260101000000abcdef")
        #expect(read == written)
        #expect(read.files["a b/ü.txt"]?.size == 12)
        #expect(read.totalSize == written.files.values.reduce(0) { $0 + $1.size })

        // Stable output: keys are sorted.
        let json = try String(contentsOfFile: root + "/manifests/d20260101000000abcdef.json", encoding: .utf8)
        let branch = try #require(json.range(of: "\"branch\""))
        let site = try #require(json.range(of: "\"site\""))
        #expect(branch.lowerBound < site.lowerBound)
    }

    @Test func missingAndCorruptManifestsGiveReadableErrors() throws {
        let tmp = try TempFolder()
        let store = try DeploymentStore(root: tmp.path + "/store")
        do {
            _ = try store.manifest(id: "nope")
            Issue.record("expected an error")
        } catch let error as DeploymentStoreError {
            #expect(error.description.contains("nope"))
        }
        try tmp.write("store/manifests/bad.json", "{ not json")
        do {
            _ = try store.manifest(id: "bad")
            Issue.record("expected an error")
        } catch let error as DeploymentStoreError {
            #expect(error.description.contains("bad.json"))
        }
    }

    @Test func removeManifestsDeletesOnlyThose() throws {
        let tmp = try TempFolder()
        try tmp.write("site/a.txt", "a")
        let store = try DeploymentStore(root: tmp.path + "/store")
        for id in ["d1", "d2", "d3"] { _ = try ingest(store, tmp.path + "/site", id: id) }
        try store.removeManifests(["d1", "d3", "d9"])
        #expect(try store.manifestIDs() == ["d2"])
        #expect(try blobCount(store.root) == 1)
    }

    @Test func garbageCollectionRemovesOnlyUnreferencedBlobs() throws {
        let tmp = try TempFolder()
        try tmp.write("old/shared.txt", "shared content")
        try tmp.write("old/only-old.txt", "only in the old deployment")
        try tmp.write("old/page.html", text(4000) + "old")
        try tmp.write("new/shared.txt", "shared content")
        try tmp.write("new/only-new.txt", "only in the new deployment")
        try tmp.write("new/app.js", "x")
        try tmp.write("new/app.js.br", "br")
        let store = try DeploymentStore(root: tmp.path + "/store")
        let old = try ingest(store, tmp.path + "/old", id: "d1")
        let new = try ingest(store, tmp.path + "/new", id: "d2")
        #expect(try blobCount(store.root) == 7)  // shared, only-old, page, page.gz, only-new, app.js, app.js.br

        let oldOnly = [
            old.files["only-old.txt"]!.sha256, old.files["page.html"]!.sha256, old.files["page.html"]!.gzip!.sha256,
        ]
        var expectedFreed: Int64 = 0
        for hex in oldOnly {
            let attributes = try FileManager.default.attributesOfItem(atPath: store.blobPath(hex))
            expectedFreed += (attributes[.size] as! NSNumber).int64Value
        }

        let result = try store.collectGarbage(keeping: ["d2"])

        #expect(result.removedBlobs == 3)
        #expect(result.freedBytes == expectedFreed)
        #expect(try store.manifestIDs() == ["d2"])
        #expect(try blobCount(store.root) == 4)
        for hex in oldOnly { #expect(!FileManager.default.fileExists(atPath: store.blobPath(hex))) }
        for entry in new.files.values {
            #expect(FileManager.default.fileExists(atPath: store.blobPath(entry.sha256)))
            if let br = entry.brotli { #expect(FileManager.default.fileExists(atPath: store.blobPath(br.sha256))) }
        }
        // Nothing more to collect the second time.
        let again = try store.collectGarbage(keeping: ["d2"])
        #expect(again.removedBlobs == 0 && again.freedBytes == 0)

        // Re-ingesting content whose gzip blob was collected makes the variant again.
        try tmp.write("redo/page.html", text(4000) + "old")
        let redo = try ingest(store, tmp.path + "/redo", id: "d3")
        let gzip = try #require(redo.files["page.html"]?.gzip)
        #expect(FileManager.default.fileExists(atPath: store.blobPath(gzip.sha256)))
    }
}
