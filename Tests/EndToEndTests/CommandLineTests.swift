import CanopyTestSupport
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

    /// `--geoip FILE` (#14): a file that is missing or not a MaxMind DB stops `canopy serve` at once,
    /// before it makes its data folder or binds a port, with the file and what is wrong; `canopy
    /// validate` refuses a Country condition at its line without `--geoip` (as the build on such a
    /// server fails) and accepts it with a database.
    @Test func geoipIsCheckedAtStartAndValidateTakesIt() throws {
        let dir = try makeTemporaryDirectory("geoip-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "not a database".write(toFile: dir + "/bad.mmdb", atomically: true, encoding: .utf8)
        for (file, says) in [
            ("bad.mmdb", "bad.mmdb is not a MaxMind DB file"),
            ("missing.mmdb", "missing.mmdb: No such file or directory"),
        ] {
            // `timeout`: a server that did start would otherwise run until killed.
            let (status, output) = try runProcess([
                "timeout", "60", canopyBinary, "serve", "--geoip", dir + "/" + file, "--sites", dir + "/Sites",
                "--data", dir + "/data", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
            ])
            let text = String(decoding: output, as: UTF8.self)
            #expect(status == 1, "\(text)")
            #expect(text.contains(says), "\(text)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/data"), "the server went on starting")
        }

        // Netlify's example: docs.netlify.com/routing/redirects/redirect-options, "Redirect by country or language".
        try "/  /anz     302  Country=au,nz\n".write(toFile: dir + "/_redirects", atomically: true, encoding: .utf8)
        let refused = try sh([canopyBinary, "validate", dir + "/_redirects"], allowFailure: true)
        #expect(refused.contains("_redirects:1:18: error:") && refused.contains("--geoip FILE"), "\(refused)")
        #expect(throws: (any Error).self) { try sh([canopyBinary, "validate", dir + "/_redirects"]) }
        let database = try GeoIPTestDatabase.write(into: dir)
        let accepted = try sh([canopyBinary, "validate", "--geoip", database, dir + "/_redirects"])
        #expect(accepted.contains("valid _redirects"), "\(accepted)")
        let bad = try sh(
            [canopyBinary, "validate", "--geoip", dir + "/bad.mmdb", dir + "/_redirects"], allowFailure: true)
        #expect(bad.contains("bad.mmdb is not a MaxMind DB file"), "\(bad)")
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
