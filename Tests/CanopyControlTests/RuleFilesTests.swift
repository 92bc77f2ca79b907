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

/// `canopy validate` on an amplify.yml and on Sites files (#14): what a build will do, as paths from
/// the repository root, and a Sites file checked against the others of its folder.
@Suite struct SpecInterpretationTests {
    @Test func anAmplifySpecIsShownAsABuildWouldResolveIt() throws {
        let dir = NSTemporaryDirectory() + "canopy-validate-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir + "/frontend", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
        version: 1
        applications:
          - appRoot: frontend
            env:
              variables:
                NODE_ENV: production
            frontend:
              phases:
                build:
                  commands: [npm ci, npm run build]
              artifacts:
                baseDirectory: dist
                files: ['**/*']
              cache:
                paths: [node_modules/**/*, ~/.npm/**/*, /root/.cache/Cypress/**/*, '!node_modules/.cache/**']
            test:
              phases:
                test:
                  commands: [npm test]
              artifacts:
                baseDirectory: ../reports
                files: ['**/*.xml']
        """.write(toFile: dir + "/amplify.yml", atomically: true, encoding: .utf8)
        let result = SpecValidation.validate(path: dir + "/amplify.yml")
        #expect(result.ok, "\(result.message)")
        let lines = result.message.split(separator: "\n").map(String.init)
        #expect(lines.contains("  appRoot: frontend"))
        #expect(lines.contains("  phases: frontend: build (2); test: test (1)"))
        #expect(lines.contains("  deploys: frontend/dist/ (**/*)"))
        #expect(
            lines.contains(
                "  cache: frontend/node_modules/**/*, ~/.npm/**/*, /root/.cache/Cypress/**/*, !frontend/node_modules/.cache/**"
            ), "\(lines)")
        #expect(lines.contains("  test artifacts (kept with the build log, not deployed): reports/ (**/*.xml)"))
        #expect(lines.contains("  env: NODE_ENV=production"))
    }

    @Test func aSitesFileIsCheckedAgainstTheOthersInItsFolder() throws {
        let dir = NSTemporaryDirectory() + "canopy-validate-" + UUID().uuidString + "/Sites"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent) }
        let site = { (domain: String) in
            "repository: /srv/git/x.git\nbranches:\n  main:\n    domains: [\(domain)]\n"
        }
        try site("example.com").write(toFile: dir + "/alpha.yml", atomically: true, encoding: .utf8)
        try site("other.example.com").write(toFile: dir + "/beta.yml", atomically: true, encoding: .utf8)
        #expect(SpecValidation.validate(path: dir + "/beta.yml").ok)
        try site("example.com").write(toFile: dir + "/beta.yml", atomically: true, encoding: .utf8)
        let clash = SpecValidation.validate(path: dir + "/beta.yml")
        #expect(!clash.ok)
        #expect(clash.message.contains("beta.yml:3:"), "\(clash.message)")
        #expect(clash.message.contains("hostname example.com of beta/main is already claimed by alpha/main"))
    }
}
