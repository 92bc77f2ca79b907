import Foundation
import Testing

@testable import CanopyStore

/// An ingest that knows what the last ingest of the same files read (issue #13: "hashing may use a
/// cache keyed by git blob id when files come from git unchanged"; here keyed by the file's stat
/// stamp, change time included): unchanged files are not read again, and a file changed in any way,
/// even in place with its size and modification time restored, is.
@Suite struct IngestCacheTests {
    let commitTime = Date(timeIntervalSince1970: 1_700_000_000)

    func ingest(
        _ store: DeploymentStore, _ dir: String, id: String, _ cache: inout IngestCache
    ) throws
        -> DeploymentManifest
    {
        try store.ingest(
            directory: dir, id: id, site: "example", branch: "main", commit: "abc123", commitTime: commitTime,
            cache: &cache)
    }

    /// Stamps are trusted only for files whose last change is settled before the read begins
    /// (`ContentStamp.settleTime`, 0.1 s): this waits that long, which no test can avoid.
    func letChangesSettle() {
        Thread.sleep(forTimeInterval: 0.25)
    }

    func sha256(_ text: String) throws -> String {
        let tmp = try TempFolder()
        return try sha256sum(try tmp.write("f", text))
    }

    @Test func aFileChangedInPlaceWithItsSizeAndModificationTimeRestoredIsReadAgain() throws {
        let tmp = try TempFolder()
        let site = tmp.path + "/site"
        let page = try tmp.write("site/index.html", "<p>first version</p>")
        try tmp.write("site/about.html", "<p>about</p>")
        let store = try DeploymentStore(root: tmp.path + "/store")
        letChangesSettle()
        var cache = IngestCache()
        _ = try ingest(store, site, id: "d1", &cache)
        #expect(cache.reads == 2 && cache.hits == 0)
        #expect(cache.count == 2)

        // The same inode, the same size, the modification time put back as it was (touch -d).
        var before = stat()
        lstat(page, &before)
        let handle = try #require(FileHandle(forUpdatingAtPath: page))
        try handle.write(contentsOf: Data("<p>other version</p>".utf8))
        try handle.close()
        try sh(["touch", "-d", "@\(before.st_mtim.tv_sec).\(String(format: "%09d", before.st_mtim.tv_nsec))", page])
        var after = stat()
        lstat(page, &after)
        #expect(after.st_ino == before.st_ino && after.st_size == before.st_size)
        #expect(after.st_mtim.tv_sec == before.st_mtim.tv_sec && after.st_mtim.tv_nsec == before.st_mtim.tv_nsec)

        let second = try ingest(store, site, id: "d2", &cache)
        let entry = try #require(second.files["index.html"])
        #expect(entry.sha256 == (try sha256("<p>other version</p>")))
        #expect(FileManager.default.contents(atPath: store.blobPath(entry.sha256)) == Data("<p>other version</p>".utf8))
        #expect(cache.reads == 1 && cache.hits == 1, "about.html is known, index.html is read")
        #expect(second.files["about.html"]?.sha256 == (try sha256("<p>about</p>")))
    }

    @Test func unchangedFilesAreTakenFromTheCacheWithTheirGzipVariants() throws {
        let tmp = try TempFolder()
        let site = tmp.path + "/site"
        try tmp.write("site/index.html", text(4000))
        try tmp.write("site/logo.png", noise(300))
        let store = try DeploymentStore(root: tmp.path + "/store")
        letChangesSettle()
        var cache = IngestCache()
        let first = try ingest(store, site, id: "d1", &cache)
        let second = try ingest(store, site, id: "d2", &cache)
        #expect(cache.hits == 2 && cache.reads == 0)
        #expect(second.files == first.files)
        #expect(second.files["index.html"]?.gzip != nil)
        #expect(try store.manifest(id: "d2") == second)
    }

    @Test func everyOneOfManyUnchangedFilesIsFoundAndEveryChangedOneRead() throws {
        let tmp = try TempFolder()
        for index in 0..<300 { try tmp.write("site/section-\(index % 7)/page-\(index).html", "<p>\(index)</p>") }
        let store = try DeploymentStore(root: tmp.path + "/store")
        letChangesSettle()
        var cache = IngestCache()
        _ = try ingest(store, tmp.path + "/site", id: "d1", &cache)
        #expect(cache.count == 300)
        for index in stride(from: 0, to: 300, by: 50) {
            try tmp.write("site/section-\(index % 7)/page-\(index).html", "<p>changed \(index)</p>")
        }
        let second = try ingest(store, tmp.path + "/site", id: "d2", &cache)
        #expect(cache.hits == 294 && cache.reads == 6)
        #expect(second.files["section-1/page-50.html"]?.sha256 == (try sha256("<p>changed 50</p>")))
        #expect(second.files["section-2/page-51.html"]?.sha256 == (try sha256("<p>51</p>")))
    }

    @Test func aFileChangedJustBeforeTheReadIsNotTrustedNextTime() throws {
        let tmp = try TempFolder()
        try tmp.write("site/index.html", "<p>now</p>")
        let store = try DeploymentStore(root: tmp.path + "/store")
        var cache = IngestCache()
        _ = try ingest(store, tmp.path + "/site", id: "d1", &cache)
        // Its change time may share a clock tick with a change that comes now.
        #expect(cache.count == 0)
        _ = try ingest(store, tmp.path + "/site", id: "d2", &cache)
        #expect(cache.reads == 1 && cache.hits == 0)
    }

    @Test func theCacheIsUnusedOnceItsDeploymentIsCollected() throws {
        let tmp = try TempFolder()
        let site = tmp.path + "/site"
        try tmp.write("site/index.html", text(2000))
        try tmp.write("site/about.html", "<p>about</p>")
        let store = try DeploymentStore(root: tmp.path + "/store")
        letChangesSettle()
        var cache = IngestCache()
        _ = try ingest(store, site, id: "d1", &cache)
        store.releaseIngest("d1")
        try store.collectGarbage(keeping: [])
        #expect(try blobCount(store.root) == 0)

        let second = try ingest(store, site, id: "d2", &cache)
        #expect(cache.reads == 2 && cache.hits == 0)
        for entry in second.files.values {
            #expect(FileManager.default.fileExists(atPath: store.blobPath(entry.sha256)))
            if let gzip = entry.gzip { #expect(FileManager.default.fileExists(atPath: store.blobPath(gzip.sha256))) }
        }
    }
}

/// The manifest is written without `JSONEncoder` (it took a fifth of a 10,000-file push): what
/// is written must read back as the same manifest, and be what `JSONEncoder` writes.
@Suite struct ManifestJSONTests {
    @Test func theWrittenManifestIsJSONEncodersAndReadsBack() throws {
        var files: [String: FileEntry] = [:]
        let sha = String(repeating: "ab", count: 32)
        let names = [
            "index.html", "a/b/c.css", "quote\".txt", "back\\slash", "tab\there", "new\nline", "bell\u{7}",
            "é/日本語/😀.png", "sp ace", "slash/", "z", "A", "_redirects",
        ]
        for (index, name) in names.enumerated() {
            var entry = FileEntry(sha256: sha, size: Int64(index * 1000), contentType: "text/html; charset=utf-8")
            if index % 2 == 0 { entry.gzip = BlobRef(sha256: sha, size: 12) }
            if index % 3 == 0 { entry.brotli = BlobRef(sha256: sha, size: 9) }
            if index % 5 == 0 { entry.zstd = BlobRef(sha256: sha, size: 1 << 40) }
            files[name] = entry
        }
        let manifest = DeploymentManifest(
            id: "d20261202-x", site: "s\"ite", branch: "feature/ü", commit: "abc",
            commitTime: Date(timeIntervalSince1970: 1_700_000_000.123456),
            createdAt: Date(timeIntervalSinceReferenceDate: 786_000_000), files: files)
        let written = Data(manifest.jsonBytes())
        #expect(try JSONDecoder().decode(DeploymentManifest.self, from: written) == manifest)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        #expect(
            String(decoding: written, as: UTF8.self) == String(decoding: try encoder.encode(manifest), as: UTF8.self))
    }
}
