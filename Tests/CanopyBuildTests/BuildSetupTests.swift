import CanopyBuild
import CanopySpec
import Foundation
import Testing

/// What a build starts with: its variables, where it is served, and its build spec (#14 "Builds").
@Suite struct BuildSetupTests {
    /// `env.variables` values expand from the build environment as `export NAME="value"` would.
    @Test func specVariablesExpandAsAShellWould() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        var plan = frontendPlan(["mkdir -p dist", "env > dist/env.txt"])
        plan.variables = [
            "BASE": "/preview/$AWS_BRANCH/", "TITLE": "${SITE_NAME} (${CANOPY_COMMIT})",
            "FALLBACK": "${UNSET_NAME:-none}", "BIN": "$HOME/bin:$PATH", "PRICE": "\\$5 and $ alone",
            "EMPTY": "[$UNSET_NAME]",
        ]
        var request = fixture.request(plan)
        request.environment = ["SITE_NAME": "Docs"]
        let result = await fixture.run(request)
        #expect(result.succeeded, "\(String(describing: result.failure))")
        let lines = Set((fixture.read(fixture.artifacts + "/env.txt") ?? "").split(separator: "\n").map(String.init))
        let home = try #require(lines.first { $0.hasPrefix("HOME=") }?.dropFirst(5))
        for expected in [
            "BASE=/preview/dev/", "TITLE=Docs (abc123)", "FALLBACK=none", "PRICE=$5 and $ alone", "EMPTY=[]",
        ] {
            #expect(lines.contains(expected), "missing \(expected) in \(lines.sorted())")
        }
        // (PATH starts with the build's own prefix for global installs.)
        #expect(
            lines.contains { $0.hasPrefix("BIN=\(home)/bin:\(home)/.local/bin:/usr/local/sbin:") }, "\(lines.sorted())")
    }

    /// The build knows where the branch is served, so a site can set its base URL per preview.
    @Test func theBranchsHostnamesAreInTheEnvironment() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        var request = fixture.request(
            frontendPlan(["mkdir -p dist && echo \"$CANOPY_URL|$CANOPY_HOSTNAMES\" > dist/url.txt"]))
        request.hostnames = ["feature-x.preview.example.com", "x.example.com"]
        let result = await fixture.run(request)
        #expect(result.succeeded, "\(String(describing: result.failure))")
        #expect(
            fixture.read(fixture.artifacts + "/url.txt")
                == "http://feature-x.preview.example.com|feature-x.preview.example.com x.example.com\n")
    }

    /// Amplify finds a monorepo app's build spec in its folder
    /// (https://docs.aws.amazon.com/amplify/latest/userguide/monorepo-configuration.html).
    @Test func theBuildSpecIsFoundInTheAppFolder() throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try fixture.write(
            "frontend/amplify.yml",
            "version: 1\nfrontend:\n  phases:\n    build:\n      commands: [npm run build]\n"
                + "  artifacts:\n    baseDirectory: dist\n    files: ['**/*']\n")
        try fixture.write("frontend/package.json", "{\"scripts\": {\"build\": \"vite build\"}}")
        let plan = try BuildSpecLocator.load(checkout: fixture.source, appRoot: "frontend").get()
        #expect(plan.specFile == "frontend/amplify.yml")
        #expect(plan.appRoot == "frontend")
        #expect(plan.artifacts.baseDirectory == "dist")
        #expect(plan.stages.first?.phases.first?.commands.first?.text == "npm run build")
    }

    /// No build spec, but a package.json with a build script: this folder needs a build, and
    /// publishing its sources would be wrong.
    @Test func aFolderThatNeedsABuildButHasNoSpecFailsWithAMessage() throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try fixture.write("web/package.json", "{\"scripts\": {\"build\": \"next build\"}}")
        let failure = #expect(throws: BuildFailure.self) {
            try BuildSpecLocator.load(checkout: fixture.source, appRoot: "web").get()
        }
        #expect(
            failure?.message.contains("web/package.json has a build script") == true, "\(String(describing: failure))")
        #expect(failure?.message.contains("web/amplify.yml") == true)
        // Without a build script the folder is published as it is.
        try fixture.write("web/package.json", "{\"scripts\": {\"test\": \"jest\"}}")
        let plan = try BuildSpecLocator.load(checkout: fixture.source, appRoot: "web").get()
        #expect(plan.specFile == nil)
        #expect(plan.appRoot == "web")
    }

    @Test func aBuildSpecReachedThroughALinkIsRefused() throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try FileManager.default.createDirectory(
            atPath: fixture.folder + "/elsewhere", withIntermediateDirectories: true)
        try "version: 1\n".write(toFile: fixture.folder + "/elsewhere/amplify.yml", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(
            atPath: fixture.source + "/app", withDestinationPath: fixture.folder + "/elsewhere")
        let failure = #expect(throws: BuildFailure.self) {
            try BuildSpecLocator.load(checkout: fixture.source, appRoot: "app").get()
        }
        #expect(failure?.message.contains("app is a symbolic link") == true, "\(String(describing: failure))")
    }
}
