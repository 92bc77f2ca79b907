import Foundation
import Testing

/// The CLI commands that need no server: validate and a local build.
struct CommandLineTests {
    @Test func validateAcceptsTheSampleAndRefusesABrokenFileWithItsLine() throws {
        let ok = try sh([canopyBinary, "validate", packageRoot + "/amplify-sample/amplify.yml"])
        #expect(ok.contains("valid amplify.yml"))
        let sites = try sh([canopyBinary, "validate", packageRoot + "/Sites/sample.yml"])
        #expect(sites.contains("valid Sites file"))

        let dir = try makeTemporaryDirectory("validate")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let broken = dir + "/amplify.yml"
        try "version: 1\nfrontend:\n  phases:\n    build:\n      commands: [a, b\n".write(
            toFile: broken, atomically: true, encoding: .utf8)
        let output = try sh([canopyBinary, "validate", broken], allowFailure: true)
        #expect(output.contains("amplify.yml:"))
        #expect(output.contains("error"))
        // The exit code says it failed.
        #expect(throws: (any Error).self) { try sh([canopyBinary, "validate", broken]) }
    }

    @Test func buildRunsTheSampleLocallyIntoAnOutputFolder() throws {
        let dir = try makeTemporaryDirectory("localbuild")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/out"
        let log = try sh([canopyBinary, "build", packageRoot + "/amplify-sample", "--branch", "try-me", "--out", out])
        #expect(log.contains("scripts/build.sh"))  // commands are echoed
        #expect(log.contains("check.sh: all pages OK"))  // the test phase ran
        let index = try String(contentsOfFile: out + "/index.html", encoding: .utf8)
        #expect(index.contains("try-me"))
        let assets = try FileManager.default.contentsOfDirectory(atPath: out + "/assets")
        #expect(assets.contains { $0.hasPrefix("style.") && $0.hasSuffix(".css") })
        // The sample's source folder is untouched.
        #expect(!FileManager.default.fileExists(atPath: packageRoot + "/amplify-sample/dist"))
    }

    /// A git work tree builds as the commit and branch checked out there; counts are files; a
    /// folder that is not there is said so (#14).
    @Test func aLocalBuildOfAWorkTreeSeesItsCommitAndBranch() throws {
        let dir = try makeTemporaryDirectory("localgit")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let work = dir + "/site"
        try FileManager.default.copyItem(atPath: packageRoot + "/amplify-sample", toPath: work)
        try sh(["git", "init", "-q", "-b", "docs", work])
        try sh(["git", "-C", work, "add", "-A"])
        try sh(["git", "-C", work, "commit", "-q", "-m", "site"])
        let commit = try sh(["git", "-C", work, "rev-parse", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let log = try sh([canopyBinary, "build", work, "--out", dir + "/out"])
        #expect(log.contains("Building branch docs at commit \(commit.prefix(7))"), "\(log)")
        let files = try #require(FileManager.default.enumerator(atPath: dir + "/out")?.allObjects as? [String]).filter {
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: dir + "/out/" + $0, isDirectory: &isDirectory)
            return !isDirectory.boolValue
        }
        #expect(log.contains("Build succeeded: \(files.count) files"), "\(log)")

        let missing = try sh(
            [canopyBinary, "build", dir + "/nothing-here", "--out", dir + "/out2"], allowFailure: true)
        #expect(missing.contains("nothing-here is not a folder"), "\(missing)")
    }
}
