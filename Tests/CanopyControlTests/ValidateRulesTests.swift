import Foundation
import Testing

@testable import CanopyControl

/// `canopy validate` shows how rules are read (#14, "canopy validate shows the interpretation"):
/// proxy rules (a 200 to an http(s) URL, which the edge fetches: docs.netlify.com/routing/redirects/
/// rewrites-proxies, "Proxy to another service"; Amplify's "Reverse proxy rewrite") listed with their
/// upstream and line, and a `canopy-rules-test.yml` with its count of cases, or its error at file:line.
@Suite struct ValidateRulesTests {
    func folder() throws -> String {
        let dir = NSTemporaryDirectory() + "canopy-validate-rules-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static let rulesTest = """
        - request: /old
          status: 301
          location: /new
        - request: /api/users
          status: 200
        """

    @Test func proxyRulesAreListedWithTheirUpstream() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Netlify's own example of a proxy rule, after a plain redirect.
        try "/old /new 301\n/api/*  https://api.example.com:8443/v1/:splat  200\n".write(
            toFile: dir + "/_redirects", atomically: true, encoding: .utf8)
        let result = SpecValidation.validate(path: dir + "/_redirects")
        #expect(result.ok, "\(result.message)")
        let lines = result.message.split(separator: "\n").map(String.init)
        #expect(lines.contains("  proxies (the edge fetches these from the upstream):"), "\(lines)")
        #expect(
            lines.contains(
                "    /api/* → https://api.example.com:8443/v1/:splat (upstream https://api.example.com:8443; \(dir)/_redirects:2)"
            ), "\(lines)")
        #expect(!result.message.contains("/old →"), "a redirect is not a proxy")
    }

    @Test func aRulesTestFileIsCountedOrRefusedAtItsLine() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/canopy-rules-test.yml"
        try Self.rulesTest.write(toFile: path, atomically: true, encoding: .utf8)
        let counted = SpecValidation.validate(path: path)
        #expect(counted.ok, "\(counted.message)")
        #expect(counted.message.hasPrefix("\(path): valid canopy-rules-test.yml, 2 cases"), "\(counted.message)")

        try (Self.rulesTest + "\n- request: /x\n  status: nine\n").write(
            toFile: path, atomically: true, encoding: .utf8)
        let refused = SpecValidation.validate(path: path)
        #expect(!refused.ok)
        #expect(refused.message.contains("\(path):7:"), "\(refused.message)")
    }

    @Test func anAmplifySpecShowsTheRuleFilesAndTheRulesTestBesideIt() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
        version: 1
        frontend:
          phases:
            build:
              commands: [npm run build]
          artifacts:
            baseDirectory: dist
            files: ['**/*']
        """.write(toFile: dir + "/amplify.yml", atomically: true, encoding: .utf8)
        // Amplify's reverse proxy rewrite (docs.aws.amazon.com/amplify/latest/userguide/redirects.html).
        try #"[{"source": "/api/<*>", "target": "https://api.example.com/<*>", "status": "200"}]"#.write(
            toFile: dir + "/redirects.json", atomically: true, encoding: .utf8)
        try Self.rulesTest.write(toFile: dir + "/canopy-rules-test.yml", atomically: true, encoding: .utf8)
        let result = SpecValidation.validate(path: dir + "/amplify.yml")
        #expect(result.ok, "\(result.message)")
        let lines = result.message.split(separator: "\n").map(String.init)
        #expect(lines.contains("  rule file: \(dir)/redirects.json"), "\(lines)")
        #expect(
            lines.contains(
                "    /api/<*> → https://api.example.com/<*> (upstream https://api.example.com; \(dir)/redirects.json:1)"
            ),
            "\(lines)")
        // The rules test is read as a build reads it: its name from the repository root.
        #expect(lines.contains("  rules test: canopy-rules-test.yml, 2 cases"), "\(lines)")

        // A broken rules test beside it: the amplify.yml is valid, the whole check is not.
        try "- request: /x\n  status: nine\n".write(
            toFile: dir + "/canopy-rules-test.yml", atomically: true, encoding: .utf8)
        let broken = SpecValidation.validate(path: dir + "/amplify.yml")
        #expect(!broken.ok)
        #expect(broken.message.contains("canopy-rules-test.yml:2:"), "\(broken.message)")

        // The folder: each file it holds, once.
        let whole = SpecValidation.validate(path: dir)
        #expect(!whole.ok)
        #expect(whole.message.contains("\(dir)/amplify.yml: valid amplify.yml"))
        #expect(whole.message.contains("\(dir)/redirects.json: valid redirects.json"))
        #expect(whole.message.components(separatedBy: "canopy-rules-test.yml:2:").count == 2, "\(whole.message)")
    }
}
