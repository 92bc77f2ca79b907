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
