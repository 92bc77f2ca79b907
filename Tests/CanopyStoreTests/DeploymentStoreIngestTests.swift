import Foundation
import Testing

@testable import CanopyStore

@Suite struct DeploymentStoreIngestTests {
    let commitTime = Date(timeIntervalSince1970: 1_700_000_000)

    func ingest(_ store: DeploymentStore, _ dir: String, id: String) throws -> DeploymentManifest {
        try store.ingest(
            directory: dir, id: id, site: "example", branch: "main", commit: "abc123", commitTime: commitTime)
    }

    @Test func recordsHashesSizesTypesAndPaths() throws {
        let tmp = try TempFolder()
        let site = tmp.path + "/site"
        try tmp.write("site/abc.txt", "abc")
        try tmp.write("site/index.html", "<h1>hi</h1>")
        try tmp.write("site/assets/js/app.js", "console.log(1)")
        try tmp.write("site/img/logo.png", noise(100))
        let store = try DeploymentStore(root: tmp.path + "/store")

        let manifest = try ingest(store, site, id: "d1")

        #expect(Set(manifest.files.keys) == ["abc.txt", "index.html", "assets/js/app.js", "img/logo.png"])
        let abc = try #require(manifest.files["abc.txt"])
        #expect(abc.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(abc.size == 3)
        #expect(abc.contentType == "text/plain; charset=utf-8")
        #expect(manifest.files["index.html"]?.contentType == "text/html; charset=utf-8")
        #expect(manifest.files["assets/js/app.js"]?.contentType == "text/javascript; charset=utf-8")
        #expect(manifest.files["img/logo.png"]?.contentType == "image/png")
        #expect(manifest.files["img/logo.png"]?.size == 100)
        #expect(manifest.site == "example" && manifest.branch == "main" && manifest.commit == "abc123")
        #expect(manifest.commitTime == commitTime)
        for (path, entry) in manifest.files {
            let blob = store.blobPath(entry.sha256)
            #expect(blob.hasSuffix("/blobs/\(entry.sha256.prefix(2))/\(entry.sha256)"))
            #expect(
                FileManager.default.contents(atPath: blob) == FileManager.default.contents(atPath: site + "/" + path))
            #expect(try sha256sum(blob) == entry.sha256)
        }
        // Nothing is left behind in the staging folder.
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.root + "/tmp").isEmpty)
    }

    @Test func largeFileIsStreamedAndHashedCorrectly() throws {
        let tmp = try TempFolder()
        let big = try tmp.write("site/big.bin", noise(3 * 1024 * 1024 + 17))
        let bigText = try tmp.write("site/big.txt", text(2 * 1024 * 1024 + 5))
        let store = try DeploymentStore(root: tmp.path + "/store")

        let manifest = try ingest(store, tmp.path + "/site", id: "d1")

        let bin = try #require(manifest.files["big.bin"])
        #expect(bin.sha256 == (try sha256sum(big)))
        #expect(bin.size == 3 * 1024 * 1024 + 17)
        let txt = try #require(manifest.files["big.txt"])
        #expect(txt.sha256 == (try sha256sum(bigText)))
        let gzip = try #require(txt.gzip)
        #expect(try gunzip(store.blobPath(gzip.sha256)) == FileManager.default.contents(atPath: bigText))
    }

    @Test func identicalContentIsStoredOnceAcrossFilesAndDeployments() throws {
        let tmp = try TempFolder()
        try tmp.write("one/a.txt", "same")
        try tmp.write("one/b/c.txt", "same")
        try tmp.write("one/d.txt", "different")
        try tmp.write("two/x.txt", "same")
        try tmp.write("two/y.txt", "different")
        let store = try DeploymentStore(root: tmp.path + "/store")

        let first = try ingest(store, tmp.path + "/one", id: "d1")
        #expect(try blobCount(store.root) == 2)
        #expect(first.files["a.txt"]?.sha256 == first.files["b/c.txt"]?.sha256)

        let second = try ingest(store, tmp.path + "/two", id: "d2")
        #expect(try blobCount(store.root) == 2)
        #expect(second.files["x.txt"]?.sha256 == first.files["a.txt"]?.sha256)
    }

    @Test func gzipVariantDecompressesToOriginalOnlyForCompressibleFiles() throws {
        let tmp = try TempFolder()
        let page = try tmp.write("site/index.html", text(20_000))
        try tmp.write("site/small.css", "body{}")  // under 256 bytes
        try tmp.write("site/photo.jpg", Data((text(20_000) + "jpeg").utf8))  // compressible bytes, but a jpeg type
        try tmp.write("site/random.txt", noise(8_000))  // text type, but gzip would not help
        let store = try DeploymentStore(root: tmp.path + "/store")

        let manifest = try ingest(store, tmp.path + "/site", id: "d1")

        let html = try #require(manifest.files["index.html"])
        let gzip = try #require(html.gzip)
        #expect(gzip.size < html.size)
        let gzipBlob = store.blobPath(gzip.sha256)
        #expect(try sha256sum(gzipBlob) == gzip.sha256)
        #expect(try gunzip(gzipBlob) == FileManager.default.contents(atPath: page))
        #expect(manifest.files["small.css"]?.gzip == nil)
        #expect(manifest.files["photo.jpg"]?.gzip == nil)
        #expect(manifest.files["random.txt"]?.gzip == nil)

        // A later deployment with the same content reuses the same gzip blob.
        try tmp.write("again/page.html", text(20_000))
        let again = try ingest(store, tmp.path + "/again", id: "d2")
        #expect(again.files["page.html"]?.gzip == gzip)
        #expect(try blobCount(store.root) == 5)  // html, gzip, css, jpg, random
    }

    @Test func sidecarsBecomeVariantsAndAreNotServedThemselves() throws {
        let tmp = try TempFolder()
        try tmp.write("site/app.js", text(1000))
        let br = try tmp.write("site/app.js.br", noise(50, seed: 1))
        let zst = try tmp.write("site/app.js.zst", noise(60, seed: 2))
        try tmp.write("site/orphan.txt.br", noise(10, seed: 3))  // no orphan.txt: served as itself
        let store = try DeploymentStore(root: tmp.path + "/store")

        let manifest = try ingest(store, tmp.path + "/site", id: "d1")

        #expect(Set(manifest.files.keys) == ["app.js", "orphan.txt.br"])
        let app = try #require(manifest.files["app.js"])
        #expect(app.brotli == BlobRef(sha256: try sha256sum(br), size: 50))
        #expect(app.zstd == BlobRef(sha256: try sha256sum(zst), size: 60))
        #expect(FileManager.default.contents(atPath: store.blobPath(app.brotli!.sha256)) == noise(50, seed: 1))
    }

    @Test func symlinksAreRefusedAndNothingOutsideIsRead() throws {
        let tmp = try TempFolder()
        let secret = try tmp.write("secret.txt", "top secret content")
        try tmp.write("site/index.html", "hello")
        try FileManager.default.createSymbolicLink(atPath: tmp.path + "/site/leak.txt", withDestinationPath: secret)
        let store = try DeploymentStore(root: tmp.path + "/store")

        #expect(throws: DeploymentStoreError.symlinkRefused(path: tmp.path + "/site/leak.txt")) {
            try ingest(store, tmp.path + "/site", id: "d1")
        }
        #expect(try store.manifestIDs().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: store.blobPath(try sha256sum(secret))))

        // A linked folder is refused too, and the message names it.
        let other = try TempFolder()
        try other.write("outside/data.txt", "outside")
        try tmp.write("site2/ok.txt", "ok")
        try FileManager.default.createSymbolicLink(
            atPath: tmp.path + "/site2/dir", withDestinationPath: other.path + "/outside")
        do {
            _ = try ingest(store, tmp.path + "/site2", id: "d2")
            Issue.record("a symlinked folder was ingested")
        } catch let error as DeploymentStoreError {
            #expect(error.description.contains("site2/dir"))
        }
        #expect(try blobCount(store.root) == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.root + "/tmp").isEmpty)
    }

    @Test func duplicateAndInvalidIDsAreRefused() throws {
        let tmp = try TempFolder()
        try tmp.write("site/a.txt", "a")
        let store = try DeploymentStore(root: tmp.path + "/store")
        let first = try ingest(store, tmp.path + "/site", id: "d1")

        #expect(throws: DeploymentStoreError.duplicateDeployment(id: "d1")) {
            try ingest(store, tmp.path + "/site", id: "d1")
        }
        #expect(try store.manifest(id: "d1") == first)
        #expect(throws: DeploymentStoreError.invalidID(id: "../escape")) {
            try ingest(store, tmp.path + "/site", id: "../escape")
        }
        #expect(throws: DeploymentStoreError.notADirectory(path: tmp.path + "/missing")) {
            try ingest(store, tmp.path + "/missing", id: "d2")
        }
    }

    @Test func manyFilesIngest() throws {
        let tmp = try TempFolder()
        for i in 0..<2000 {
            try tmp.write(
                "site/dir\(i % 20)/file\(i).html", "<p>page \(i)</p>" + String(repeating: "x", count: i % 400))
        }
        let store = try DeploymentStore(root: tmp.path + "/store")
        let manifest = try ingest(store, tmp.path + "/site", id: "d1")
        #expect(manifest.files.count == 2000)
        #expect(manifest.files["dir7/file7.html"]?.size == Int64("<p>page 7</p>".utf8.count + 7))
        #expect(manifest.files.values.filter { $0.gzip != nil }.count > 0)
    }
}
