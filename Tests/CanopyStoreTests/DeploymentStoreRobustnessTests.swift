import Foundation
import Testing

@testable import CanopyStore

@Suite struct DeploymentStoreRobustnessTests {
    @Test func openingAStoreClearsLeftoversOfAnInterruptedIngest() throws {
        let tmp = try TempFolder()
        let root = tmp.path + "/store"
        _ = try DeploymentStore(root: root)
        try tmp.write("store/tmp/d1-1", "half a blob")
        try tmp.write("store/tmp/manifest-d1", "{")

        let store = try DeploymentStore(root: root)

        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp").isEmpty)
        #expect(try store.manifestIDs().isEmpty)
        #expect(store.root == root)
    }

    @Test func specialFilesAreRefusedWithTheirPath() throws {
        let tmp = try TempFolder()
        try tmp.write("site/index.html", "ok")
        _ = try run("/usr/bin/mkfifo", [tmp.path + "/site/pipe"])
        let store = try DeploymentStore(root: tmp.path + "/store")

        #expect(throws: DeploymentStoreError.unsupportedFileType(path: tmp.path + "/site/pipe")) {
            try store.ingest(
                directory: tmp.path + "/site", id: "d1", site: "s", branch: "b", commit: "c", commitTime: Date())
        }
    }

    @Test func concurrentIngestsOfSharedContentAreConsistent() throws {
        let tmp = try TempFolder()
        for i in 0..<8 {
            try tmp.write("site\(i)/shared.html", text(3000))
            try tmp.write("site\(i)/own.txt", "own \(i)")
        }
        let store = try DeploymentStore(root: tmp.path + "/store")
        let results = ResultsBox()
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            let outcome = Result {
                try store.ingest(
                    directory: tmp.path + "/site\(i)", id: "d\(i)", site: "s", branch: "b", commit: "c",
                    commitTime: Date())
            }
            results.append(outcome)
        }
        let manifests = try results.all.map { try $0.get() }
        #expect(manifests.count == 8)
        #expect(Set(manifests.map { $0.files["shared.html"]! }).count == 1)
        // shared.html, its gzip, and eight own.txt blobs.
        #expect(try blobCount(store.root) == 10)
        #expect(try store.manifestIDs().count == 8)
    }
}

/// Collects results from concurrent closures behind a lock.
final class ResultsBox: Sendable {
    private let lock = NSLock()
    // Only touched while `lock` is held, which makes the unchecked Sendable conformance safe.
    nonisolated(unsafe) private var results: [Result<DeploymentManifest, any Error>] = []

    func append(_ result: Result<DeploymentManifest, any Error>) {
        lock.lock()
        defer { lock.unlock() }
        results.append(result)
    }

    var all: [Result<DeploymentManifest, any Error>] {
        lock.lock()
        defer { lock.unlock() }
        return results
    }
}
