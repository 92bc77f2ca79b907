import CanopyBuild
import CanopySpec
import Foundation
import Testing

/// The usual Amplify commands in a Canopy build (#14): global installs into the build's own prefix,
/// `corepack enable`, `nvm use`, and `pip install` as the build user. Real npm, corepack and pip.
@Suite struct BuildToolsTests {
    static func onPath(_ tool: String) -> Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)")
        }
    }
    static let hasNode = onPath("node") && onPath("npm")
    static let nodeMajor: String = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["node", "--version"]
        let pipe = Pipe()
        process.standardOutput = pipe
        guard (try? process.run()) != nil else { return "" }
        process.waitUntilExit()
        let version = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return String(version.dropFirst().prefix { $0 != "." })
    }()

    @Test(.enabled(if: hasNode)) func npmInstallGlobalGoesIntoTheBuildsPrefix() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try fixture.write(
            "tool/package.json",
            #"{"name": "canopy-test-tool", "version": "1.0.0", "bin": {"canopy-test-tool": "cli.js"}}"#)
        try fixture.write("tool/cli.js", "#!/usr/bin/env node\nconsole.log('tool ran')\n")
        let plan = frontendPlan([
            "npm install -g ./tool --offline --no-audit --no-fund",
            "mkdir -p dist && canopy-test-tool > dist/out.txt && command -v canopy-test-tool > dist/where.txt",
        ])
        let result = await fixture.run(fixture.request(plan))
        #expect(result.succeeded, "\(String(describing: result.failure))\n\(fixture.log)")
        #expect(fixture.read(fixture.artifacts + "/out.txt") == "tool ran\n")
        let whereInstalled = fixture.read(fixture.artifacts + "/where.txt") ?? ""
        #expect(whereInstalled.hasSuffix("/home/.local/bin/canopy-test-tool\n"), "\(whereInstalled)")
        #expect(
            !FileManager.default.fileExists(atPath: "/usr/local/bin/canopy-test-tool"), "the server's /usr is untouched"
        )
        #expect(!FileManager.default.fileExists(atPath: "/usr/bin/canopy-test-tool"))
    }

    @Test(.enabled(if: hasNode)) func nvmUseGoesOnWithAMatchingNodeAndOtherwiseSaysWhatToDo() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let matching = frontendPlan(["nvm use \(Self.nodeMajor)", "mkdir -p dist && node --version > dist/v.txt"])
        let ok = await fixture.run(fixture.request(matching))
        #expect(ok.succeeded, "\(String(describing: ok.failure))\n\(fixture.log)")
        #expect(fixture.log.contains("which matches \(Self.nodeMajor)"))

        let other = try Fixture()
        defer { other.remove() }
        let failed = await other.run(other.request(frontendPlan(["nvm install 4", "mkdir -p dist"])))
        let failure = try #require(failed.failure)
        #expect(failure.command == "nvm install 4")
        #expect(other.log.contains("nvm is not installed on this Canopy server"), "\(other.log)")
        #expect(other.log.contains("source ~/.nvm/nvm.sh"))
    }

    @Test(.enabled(if: hasNode && onPath("corepack"))) func corepackEnableWritesItsShimsIntoThePrefix() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let plan = frontendPlan(["corepack enable pnpm", "mkdir -p dist && command -v pnpm > dist/pnpm.txt"])
        let result = await fixture.run(fixture.request(plan))
        #expect(result.succeeded, "\(String(describing: result.failure))\n\(fixture.log)")
        #expect(fixture.read(fixture.artifacts + "/pnpm.txt")?.hasSuffix("/home/.local/bin/pnpm\n") == true)
    }

    /// Debian's pip refuses installs into the system Python (PEP 668); as the build user a
    /// `pip install` (MkDocs' and Sphinx's `pip install -r requirements.txt`) goes into the prefix.
    @Test(
        .enabled(
            if: BuildUserTests.isRoot && FileManager.default.fileExists(atPath: "/usr/lib/python3/dist-packages/pip")))
    func pipInstallAsTheBuildUserGoesIntoThePrefix() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try fixture.write(
            "greet/pyproject.toml",
            "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n\n"
                + "[project]\nname = \"canopy-greet\"\nversion = \"1.0\"\n\n[project.scripts]\ncanopy-greet = \"greet:main\"\n"
        )
        try fixture.write("greet/greet.py", "def main():\n    print('greetings from pip')\n")
        chmod(fixture.folder, 0o755)
        var request = fixture.request(
            frontendPlan([
                "/usr/bin/python3 -m pip install --no-index --no-build-isolation ./greet",
                "mkdir -p dist && canopy-greet > dist/out.txt",
            ]))
        request.runAs = try BuildUser.lookup("nobody")
        let result = await fixture.run(request)
        #expect(result.succeeded, "\(String(describing: result.failure))\n\(fixture.log)")
        #expect(fixture.read(fixture.artifacts + "/out.txt") == "greetings from pip\n")
    }
}
