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
    /// A rule with a Country condition: without --geoip, `canopy validate` refuses it at its line as
    /// a build on a server without a GeoIP database fails (Netlify's `Country=au,nz` example,
    /// netlify/build's fixture `conditions_country_case.toml`, Amplify's `<US>` example, and a Sites
    /// file's redirect); with --geoip (the capability), as a server started with one reads them, all
    /// are valid. The build's own check (`RuleFiles.validate`) says the same.
    @Test func countryConditionsNeedGeoIPAtTheirLine() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "/a /b 302\n/  /anz     302  Country=au,nz\n".write(
            toFile: dir + "/_redirects", atomically: true, encoding: .utf8)
        try "[[redirects]]\n  from = \"/old-path\"\n  to = \"/new-path\"\n  conditions = {Country = [\"US\"]}\n".write(
            toFile: dir + "/netlify.toml", atomically: true, encoding: .utf8)
        try
            "[\n  {\"source\": \"/documents\", \"status\": \"302\", \"target\": \"/documents/us/\", \"condition\": \"<US>\"}\n]\n"
            .write(toFile: dir + "/redirects.json", atomically: true, encoding: .utf8)
        let sites = dir + "/Sites"
        try FileManager.default.createDirectory(atPath: sites, withIntermediateDirectories: true)
        try
            "repository: /srv/site.git\nredirects:\n  - source: /de\n    target: /de/\n    status: '302'\n    condition: <DE>\n"
            .write(toFile: sites + "/site.yml", atomically: true, encoding: .utf8)
        let expected = [
            "_redirects":
                "\(dir)/_redirects:2:18: error: Canopy cannot evaluate Country=au,nz without a GeoIP database: start the server with --geoip FILE",
            "netlify.toml":
                "\(dir)/netlify.toml:4:1: error: Canopy cannot evaluate Country=US without a GeoIP database",
            "redirects.json": "\(dir)/redirects.json:2:", "Sites/site.yml": "\(sites)/site.yml:6:",
        ]
        for (name, line) in expected {
            let refused = SpecValidation.validate(path: dir + "/" + name)
            #expect(!refused.ok, "\(name)")
            #expect(refused.message.contains(line), "\(refused.message)")
            #expect(refused.message.contains("--geoip FILE"), "\(refused.message)")
            let accepted = SpecValidation.validate(path: dir + "/" + name, capabilities: RuleCapabilities(geoIP: true))
            #expect(accepted.ok, "\(accepted.message)")
        }
        let build = RuleFiles.validate(artifactDirectory: dir)
        #expect(build.problem?.contains("_redirects:2:18: error:") == true, "\(build.problem ?? "")")
        #expect(RuleFiles.validate(artifactDirectory: dir, capabilities: RuleCapabilities(geoIP: true)).problem == nil)
    }
    /// A header the server sets itself, in customHttp.yml (copied into the artifacts, or the monorepo
    /// form, rewritten for the application) or a Sites file: `canopy validate` and the build's rule
    /// check print a warning at its file:line, as for `_headers`.
    @Test func serverSetHeadersAreWarningsAtTheirLine() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let yaml = "customHeaders:\n  - pattern: '**'\n    headers:\n      - key: Content-Length\n        value: '1'\n"
        try yaml.write(toFile: dir + "/customHttp.yml", atomically: true, encoding: .utf8)
        let warning =
            "customHttp.yml:4:14: warning: header 'Content-Length' is set by the server itself; this rule's value is ignored"
        let validated = SpecValidation.validate(path: dir + "/customHttp.yml")
        #expect(validated.ok, "\(validated.message)")
        #expect(validated.message.contains("\(dir)/\(warning)"), "\(validated.message)")
        let build = RuleFiles.validate(artifactDirectory: dir)
        #expect(build.problem == nil)
        #expect(
            build.warnings == ["## Warning: " + warning.replacingOccurrences(of: " warning:", with: "")],
            "\(build.warnings)")

        let repository = dir + "/repo"
        try FileManager.default.createDirectory(atPath: repository + "/out", withIntermediateDirectories: true)
        try CustomHTTPMonorepoFixture.yaml.replacingOccurrences(of: "'X-Frame-Options'", with: "'Transfer-Encoding'")
            .write(toFile: repository + "/customHttp.yml", atomically: true, encoding: .utf8)
        let carried = try RuleFiles.carry(
            from: repository, appRoot: "app1", customHeaders: [], into: repository + "/out")
        #expect(
            carried.map(\.description) == [
                "customHttp.yml:6:18: warning: header 'Transfer-Encoding' is set by the server itself; this rule's value is ignored"
            ])

        let sites = dir + "/Sites"
        try FileManager.default.createDirectory(atPath: sites, withIntermediateDirectories: true)
        try
            "repository: /srv/site.git\ncustomHeaders:\n  - pattern: '**'\n    headers:\n      - key: Date\n        value: x\n"
            .write(toFile: sites + "/site.yml", atomically: true, encoding: .utf8)
        let site = SpecValidation.validate(path: sites + "/site.yml")
        #expect(site.ok, "\(site.message)")
        #expect(
            site.message.contains("\(sites)/site.yml:5:14: warning: header 'Date' is set by the server itself"),
            "\(site.message)")
    }
}
