import Foundation
import Testing

@testable import CanopyStore

/// Issue 15 item 9: another branch's retention ran between one branch's ingest and its record in the
/// state database, and deleted the new deployment (its hostname stayed "unknown host"). These drive
/// ingest, record and collection in the interleavings that lost it.
@Suite struct GarbageCollectionRootsTests {
    let commitTime = Date(timeIntervalSince1970: 1_700_000_000)

    func ingest(_ store: DeploymentStore, _ dir: String, id: String) throws -> DeploymentManifest {
        try store.ingest(
            directory: dir, id: id, site: "example", branch: "dev", commit: "c0ffee", commitTime: commitTime)
    }

    func isComplete(_ store: DeploymentStore, _ manifest: DeploymentManifest) -> Bool {
        guard (try? store.manifest(id: manifest.id)) == manifest else { return false }
        return manifest.files.values.allSatisfy { FileManager.default.fileExists(atPath: store.blobPath($0.sha256)) }
    }

    @Test func aCollectionBetweenIngestAndRecordKeepsTheNewDeployment() throws {
        let tmp = try TempFolder()
        try tmp.write("old/index.html", "old")
        try tmp.write("new/index.html", "new")
        try tmp.write("new/app.js", noise(3000))
        let store = try DeploymentStore(root: tmp.path + "/store")
        let old = try ingest(store, tmp.path + "/old", id: "d1")
        store.releaseIngest(old.id)

        // Branch dev ingests d2 but has not recorded it; branch main's retention collects now, with
        // the live list it read from the state database (which does not name d2 yet).
        let fresh = try ingest(store, tmp.path + "/new", id: "d2")
        try store.collectGarbage(keeping: [])
        #expect(isComplete(store, fresh), "an in-flight ingest was collected")
        #expect((try? store.manifest(id: old.id)) == nil, "a released, unlisted deployment is still collected")

        // Recorded and released: from now on the live list decides.
        store.releaseIngest(fresh.id)
        try store.collectGarbage(keeping: [fresh.id])
        #expect(isComplete(store, fresh))
        try store.collectGarbage(keeping: [])
        #expect((try? store.manifest(id: fresh.id)) == nil)
        #expect(try blobCount(store.root) == 0)
    }

    @Test func aListReadBeforeTheRecordDoesNotCollectAfterTheRelease() throws {
        let tmp = try TempFolder()
        try tmp.write("new/index.html", "new")
        let store = try DeploymentStore(root: tmp.path + "/store")
        let fresh = try ingest(store, tmp.path + "/new", id: "d3")

        // Retention takes its mark and reads the live list (without d3)...
        let mark = store.garbageCollectionMark()
        let staleLiveList: Set<String> = []
        // ...then the build records d3 and releases it...
        store.releaseIngest(fresh.id)
        // ...and only then does the collection run with the stale list.
        try store.collectGarbage(keeping: staleLiveList, since: mark)
        #expect(isComplete(store, fresh), "a deployment recorded after the live list was read was collected")

        // A later collection, whose list was read after the release, decides by its list.
        try store.collectGarbage(keeping: [], since: store.garbageCollectionMark())
        #expect((try? store.manifest(id: fresh.id)) == nil)
    }
}
