import CanopyBuild
import CanopySpec
import Foundation
import Testing

/// A branch's next build, run as the server's own user in the same work tree, collects into the
/// last build's artifact folder (issue #13: deploys that cost what changed): each link that is
/// still the selected file stays as it is (its file's change time untouched, which the store's
/// ingest cache relies on), and the folder ends exactly as a fresh collection would leave it.
@Suite struct ArtifactRefreshTests {
    func stamp(_ path: String) -> (inode: UInt64, changed: Int, nanoseconds: Int) {
        var info = stat()
        lstat(path, &info)
        return (UInt64(info.st_ino), info.st_ctim.tv_sec, info.st_ctim.tv_nsec)
    }

    func listing(_ folder: String) -> [String: String] {
        var entries: [String: String] = [:]
        for path in FileManager.default.enumerator(atPath: folder)?.allObjects as? [String] ?? [] {
            var info = stat()
            lstat(folder + "/" + path, &info)
            switch info.st_mode & S_IFMT {
            case S_IFDIR: entries[path] = "folder"
            case S_IFREG: entries[path] = (try? String(contentsOfFile: folder + "/" + path, encoding: .utf8)) ?? "?"
            default: entries[path] = "other"
            }
        }
        return entries
    }

    @Test func theLastArtifactFolderIsRefreshedToExactlyThisCollection() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let first = frontendPlan([
            "mkdir -p dist/old dist/becomes-file dist/assets",
            "echo keep > dist/keep.html && echo change > dist/change.html && echo gone > dist/old/gone.html",
            "echo inside > dist/becomes-file/x.html && echo file > dist/becomes-folder",
            "echo css > dist/assets/site.css",
        ])
        var one = fixture.request(first)
        one.artifactDirectory = fixture.folder + "/out1"
        #expect((await fixture.run(one)).succeeded, "\(fixture.log)")
        // What a folder kept between builds might also hold.
        try "stale".write(toFile: one.artifactDirectory + "/stale.txt", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: one.artifactDirectory + "/link", withDestinationPath: "/etc")
        let kept = stamp(fixture.source + "/dist/keep.html")
        #expect(stamp(one.artifactDirectory + "/keep.html").inode == kept.inode, "a link")

        // The same work tree, changed by the next build.
        let second = frontendPlan([
            "rm dist/change.html && echo changed > dist/change.html && rm -r dist/old dist/becomes-file",
            "echo now a file > dist/becomes-file && rm dist/becomes-folder && mkdir dist/becomes-folder",
            "echo inner > dist/becomes-folder/y.html && echo new > dist/new.html",
        ])
        var two = fixture.request(second)
        two.artifactDirectory = fixture.folder + "/out2"
        two.keptArtifactDirectory = one.artifactDirectory
        let result = await fixture.run(two)
        #expect(result.succeeded, "\(fixture.log)")
        #expect(!FileManager.default.fileExists(atPath: one.artifactDirectory))
        #expect(fixture.log.contains("(2 links kept from the last build)"), "\(fixture.log)")

        #expect(
            listing(two.artifactDirectory) == [
                "keep.html": "keep\n", "change.html": "changed\n", "new.html": "new\n",
                "becomes-file": "now a file\n", "becomes-folder": "folder", "becomes-folder/y.html": "inner\n",
                "assets": "folder", "assets/site.css": "css\n",
            ])
        #expect(result.artifactCount == 6)
        let after = stamp(two.artifactDirectory + "/keep.html")
        #expect(after.inode == kept.inode)
        #expect(
            stamp(fixture.source + "/dist/keep.html") == kept, "the kept link left its file's change time alone")
        #expect(
            stamp(two.artifactDirectory + "/change.html").inode == stamp(fixture.source + "/dist/change.html").inode)
    }
}
