import CanopyBuild
import CanopySpec
import Foundation
import Testing

/// Cache save and restore run as root for builds that run as `nobody` (issue #15, critical item 2):
/// they must never follow a link the build controls. Needs root (skipped otherwise).
@Suite struct CacheLinkAttackTests {
    static let isRoot = getuid() == 0

    /// A root-only folder holding `name` with `content`.
    static func rootOnlyFolder(in fixture: Fixture, _ name: String, _ content: String) throws -> String {
        let folder = fixture.folder + "/root-only"
        let file = folder + "/" + name
        try FileManager.default.createDirectory(
            atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try content.write(toFile: file, atomically: true, encoding: .utf8)
        chmod(folder, 0o700)
        return folder
    }

    /// Every regular file's content under `folder`, read without following links.
    static func contents(under folder: String) -> [String] {
        let names = FileManager.default.enumerator(atPath: folder)?.allObjects as? [String] ?? []
        return names.compactMap { name in
            var info = stat()
            guard lstat(folder + "/" + name, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
            return try? String(contentsOfFile: folder + "/" + name, encoding: .utf8)
        }
    }

    /// One build links `leak -> <data folder>` and caches `leak/admin.token`; the next must not
    /// find the token in its checkout (it would publish it).
    @Test(.enabled(if: isRoot)) func aLinkTheBuildMadeDoesNotCarryARootFileIntoTheCache() async throws {
        let user = try BuildUser.lookup("nobody")
        let cache = NSTemporaryDirectory() + "canopy-cache-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let first = try Fixture()
        defer { first.remove() }
        let data = try Self.rootOnlyFolder(in: first, "admin.token", "secret-admin-token\n")

        var plan = frontendPlan(["ln -s \(data) leak", "mkdir -p dist && echo one > dist/index.html"])
        plan.cachePaths = ["leak/admin.token"]
        var request = first.request(plan)
        request.cacheDirectory = cache
        request.runAs = user
        let firstResult = await first.run(request)
        #expect(firstResult.succeeded, "\(String(describing: firstResult.failure))\n\(first.log)")
        #expect(first.log.contains("`leak` is a symbolic link"), "\(first.log)")
        #expect(!Self.contents(under: cache).contains { $0.contains("secret-admin-token") })

        let second = try Fixture()
        defer { second.remove() }
        plan = frontendPlan([
            "mkdir -p dist && echo two > dist/index.html",
            "if [ -e leak/admin.token ]; then cp leak/admin.token dist/token.txt; fi",
        ])
        plan.cachePaths = ["leak/admin.token"]
        request = second.request(plan)
        request.cacheDirectory = cache
        request.runAs = user
        let secondResult = await second.run(request)
        #expect(secondResult.succeeded, "\(String(describing: secondResult.failure))\n\(second.log)")
        #expect(second.artifactFiles() == ["index.html"])
        #expect(second.read(data + "/admin.token") == "secret-admin-token\n")
    }

    /// A committed link `w -> /root-only/folder` must not make the restore delete or write a root
    /// file: the cached `w/sub` is not restored through the link.
    @Test(.enabled(if: isRoot)) func aCommittedLinkIsNeverWrittenThroughOnRestore() async throws {
        let user = try BuildUser.lookup("nobody")
        let cache = NSTemporaryDirectory() + "canopy-cache-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let first = try Fixture()
        defer { first.remove() }
        var plan = frontendPlan([
            "mkdir -p w/sub && echo planted > w/sub/file.txt && echo new > w/sub/new.txt",
            "mkdir -p dist && echo one > dist/index.html",
        ])
        plan.cachePaths = ["w/sub/**/*"]
        var request = first.request(plan)
        request.cacheDirectory = cache
        request.runAs = user
        let firstResult = await first.run(request)
        #expect(firstResult.succeeded, "\(String(describing: firstResult.failure))\n\(first.log)")
        #expect(first.log.contains("Cache: saved 2 files"), "\(first.log)")

        let second = try Fixture()
        defer { second.remove() }
        let rootOnly = try Self.rootOnlyFolder(in: second, "sub/file.txt", "root's file\n")
        try FileManager.default.createSymbolicLink(atPath: second.source + "/w", withDestinationPath: rootOnly)
        plan = frontendPlan(["mkdir -p dist && echo two > dist/index.html"])
        plan.cachePaths = ["w/sub/**/*"]
        request = second.request(plan)
        request.cacheDirectory = cache
        request.runAs = user
        let secondResult = await second.run(request)
        #expect(secondResult.succeeded, "\(String(describing: secondResult.failure))\n\(second.log)")
        #expect(second.read(rootOnly + "/sub/file.txt") == "root's file\n")
        #expect(!FileManager.default.fileExists(atPath: rootOnly + "/sub/new.txt"))
        #expect(second.log.contains("`w` is a symbolic link"), "\(second.log)")
    }

    /// Absolute paths outside HOME come back only where the build user may write, never over a file
    /// it does not own, and as the build user's files.
    @Test(.enabled(if: isRoot)) func absolutePathsAreRestoredOnlyWhereTheBuildUserMayWrite() async throws {
        let user = try BuildUser.lookup("nobody")
        let cache = NSTemporaryDirectory() + "canopy-cache-" + UUID().uuidString
        let outside = NSTemporaryDirectory() + "canopy-outside-" + UUID().uuidString
        defer {
            try? FileManager.default.removeItem(atPath: cache)
            try? FileManager.default.removeItem(atPath: outside)
        }
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        chmod(outside, 0o777)
        let first = try Fixture()
        defer { first.remove() }
        var plan = frontendPlan([
            "mkdir -p \(outside)/a \(outside)/c && echo built > \(outside)/a/tool && echo built > \(outside)/b.txt",
            "echo built > \(outside)/c/deep.txt && mkdir -p dist && echo one > dist/index.html",
        ])
        plan.cachePaths = [outside + "/**/*"]
        var request = first.request(plan)
        request.cacheDirectory = cache
        request.runAs = user
        let firstResult = await first.run(request)
        #expect(firstResult.succeeded, "\(String(describing: firstResult.failure))\n\(first.log)")

        // A new machine: root's `b.txt`, and a folder `a` the build user may not write to.
        try FileManager.default.removeItem(atPath: outside)
        try FileManager.default.createDirectory(atPath: outside + "/a", withIntermediateDirectories: true)
        chmod(outside, 0o777)
        try "root's\n".write(toFile: outside + "/b.txt", atomically: true, encoding: .utf8)
        let second = try Fixture()
        defer { second.remove() }
        plan = frontendPlan(["mkdir -p dist && cp \(outside)/c/deep.txt dist/deep.txt"])
        plan.cachePaths = [outside + "/**/*"]
        request = second.request(plan)
        request.cacheDirectory = cache
        request.runAs = user
        let secondResult = await second.run(request)
        #expect(secondResult.succeeded, "\(String(describing: secondResult.failure))\n\(second.log)")
        #expect(second.read(second.artifacts + "/deep.txt") == "built\n")
        #expect(second.read(outside + "/b.txt") == "root's\n")
        #expect(!FileManager.default.fileExists(atPath: outside + "/a/tool"))
        #expect(second.log.contains("nothing was restored into \(outside)/a"), "\(second.log)")
        var info = stat()
        #expect(lstat(outside + "/c/deep.txt", &info) == 0 && info.st_uid == user.uid)
    }

    /// A process that outlives the build (a cleared environment and its own session escape the
    /// straggler sweep) must not be able to swap a folder for a link while root collects the
    /// artifacts and saves the cache: after the last stage the checkout's folders are root's.
    @Test(.enabled(if: isRoot)) func processesLeftBehindCannotChangeTheCheckoutAfterTheBuild() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let marks = fixture.folder + "/marks"
        try FileManager.default.createDirectory(atPath: marks, withIntermediateDirectories: true)
        chmod(marks, 0o777)
        let swap =
            "touch \(marks)/ready; while [ ! -e \(marks)/go ]; do sleep 0.1; done; "
            + "if mv dist/sub dist/old && ln -s /etc dist/sub; then echo swapped > \(marks)/result; "
            + "else echo refused > \(marks)/result; fi"
        var request = fixture.request(
            frontendPlan([
                "mkdir -p dist/sub && echo page > dist/sub/index.html",
                "env -i setsid sh -c '\(swap)' > /dev/null 2>&1 < /dev/null &",
                "while [ ! -e \(marks)/ready ]; do sleep 0.1; done",
            ]))
        request.runAs = try BuildUser.lookup("nobody")
        let result = await fixture.run(request)
        #expect(result.succeeded, "\(String(describing: result.failure))\n\(fixture.log)")
        // The process left behind tries now, when root would be reading the checkout.
        try "go\n".write(toFile: marks + "/go", atomically: true, encoding: .utf8)
        #expect(await eventually(seconds: 20) { fixture.read(marks + "/result") != nil })
        #expect(fixture.read(marks + "/result") == "refused\n")
        var info = stat()
        #expect(lstat(fixture.source + "/dist/sub", &info) == 0 && info.st_mode & S_IFMT == S_IFDIR)
    }
}
