import CanopySpec
import Foundation
import Testing

@testable import CanopyControl

/// The rule files a build carries into its deployment.
@Suite struct RuleFilesTests {
    /// A monorepo customHttp.yml at the repository root (Amplify's `applications:` form) becomes the
    /// deployment's customHttp.yml with only this application's rules, which the edge then reads.
    @Test func monorepoCustomHTTPBecomesTheApplicationsOwn() throws {
        let root = NSTemporaryDirectory() + "canopy-rulefiles-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/src/app2", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/out", withIntermediateDirectories: true)
        try CustomHTTPMonorepoFixture.yaml.write(
            toFile: root + "/src/customHttp.yml", atomically: true, encoding: .utf8)
        try RuleFiles.carry(from: root + "/src", appRoot: "app2", customHeaders: [], into: root + "/out")
        let carried = try String(contentsOfFile: root + "/out/customHttp.yml", encoding: .utf8)
        let rules = try RulesSpec.parseCustomHTTP(yaml: carried, file: "customHttp.yml")
        #expect(rules.map(\.pattern) == ["/images/**"])
        #expect(rules.flatMap(\.headers) == [HeaderField(name: "Cache-Control", value: "max-age=3600")])
        #expect(RuleFiles.validate(artifactDirectory: root + "/out").problem == nil)
    }
}

enum CustomHTTPMonorepoFixture {
    static let yaml = """
        applications:
          - appRoot: app1
            customHeaders:
              - pattern: '**/*'
                headers:
                  - key: 'X-Frame-Options'
                    value: 'DENY'
          - appRoot: app2
            customHeaders:
              - pattern: '/images/**'
                headers:
                  - key: 'Cache-Control'
                    value: 'max-age=3600'
        """
}

/// `canopy validate` on rule files: valid with its warnings shown (file:line), or the error.
@Suite struct RuleFileValidationTests {
    @Test func validateShowsWarningsWithTheirLine() throws {
        let dir = NSTemporaryDirectory() + "canopy-validate-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Netlify's fixture invalid_no_to_status after a good line.
        try "/a /b 302\n/swfobject.html?detectflash=false 301\n".write(
            toFile: dir + "/_redirects", atomically: true, encoding: .utf8)
        let redirects = SpecValidation.validate(path: dir + "/_redirects")
        #expect(redirects.ok)
        #expect(redirects.message.contains("_redirects:2:"))
        #expect(redirects.message.contains("warning"))
        try "[[redirects]]\n  from = \"/a\"\n  to = \"b\"\n".write(
            toFile: dir + "/netlify.toml", atomically: true, encoding: .utf8)
        let toml = SpecValidation.validate(path: dir + "/netlify.toml")
        #expect(!toml.ok)
        #expect(toml.message.contains("netlify.toml:3:"))
    }
}
