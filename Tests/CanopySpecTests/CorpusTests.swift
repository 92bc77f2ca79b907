import Foundation
import Testing

@testable import CanopySpec

/// The amplify.yml files collected from public repositories, in `<package root>/../shared/corpus/amplify`.
enum Corpus {
    static var folder: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // CanopySpecTests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // package root
            .appendingPathComponent("../shared/corpus/amplify")
            .standardizedFileURL
    }

    /// False in a clone of the project alone (no ../shared beside it): the corpus tests then skip.
    static var isPresent: Bool {
        let present = FileManager.default.fileExists(atPath: folder.path)
        if !present { print("notice: \(folder.path) is absent (a clone of the project alone): corpus tests skipped") }
        return present
    }

    static func files() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "yml" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    static func text(_ name: String) throws -> String {
        try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
    }

    /// The appRoots a file lists under `applications:` (empty when it has none).
    static func appRoots(_ yaml: String) -> [String] {
        yaml.split(separator: "\n").compactMap { line in
            let t = line.trimmingCharacters(in: .whitespaces)
            let body = t.hasPrefix("- ") ? String(t.dropFirst(2)) : t
            guard body.hasPrefix("appRoot:") else { return nil }
            var value = body.dropFirst("appRoot:".count).trimmingCharacters(in: .whitespaces)
            if let hash = value.range(of: " #") { value = String(value[..<hash.lowerBound]) }
            return value.trimmingCharacters(in: CharacterSet(charactersIn: "'\" "))
        }
    }
}

@Suite("amplify.yml corpus", .enabled(if: Corpus.isPresent, "../shared/corpus/amplify is absent"))
struct CorpusTests {
    @Test("the corpus is there")
    func corpusExists() throws {
        #expect(try Corpus.files().count >= 40)
    }

    @Test("every corpus file parses to a plan or a located error, for every appRoot")
    func everyFile() throws {
        var report: [String] = []
        for url in try Corpus.files() {
            let yaml = try String(contentsOf: url, encoding: .utf8)
            let roots = Corpus.appRoots(yaml)
            for appRoot in [nil] + roots.map(Optional.some) {
                do {
                    let plan = try AmplifySpec.parse(yaml, file: url.lastPathComponent, appRoot: appRoot)
                    let stages = plan.stages.map {
                        "\($0.kind.rawValue)[\($0.phases.map(\.name).joined(separator: "+"))]"
                    }
                    report.append(
                        "\(url.lastPathComponent) \(appRoot ?? "-"): OK root=\(plan.appRoot) \(stages.joined(separator: " ")) base=\(plan.artifacts.baseDirectory) warnings=\(plan.warnings.count)"
                    )
                    for command in plan.stages.flatMap({ $0.phases.flatMap(\.commands) }) {
                        #expect((command.location?.line ?? 0) > 0)
                    }
                } catch let error as SpecError {
                    #expect(!error.diagnostics.isEmpty)
                    for d in error.diagnostics {
                        #expect(d.location.line > 0, "\(d)")
                        #expect(!d.message.isEmpty)
                        #expect(d.severity == .error)
                    }
                    report.append("\(url.lastPathComponent) \(appRoot ?? "-"): ERROR \(error)")
                }
            }
        }
        if ProcessInfo.processInfo.environment["CORPUS_REPORT"] != nil {
            print(report.joined(separator: "\n"))
        }
    }
}

@Suite("amplify.yml corpus: specific files", .enabled(if: Corpus.isPresent, "../shared/corpus/amplify is absent"))
struct CorpusExpectationTests {
    @Test("002.yml: frontend build, then a test stage whose test phase has 3 commands")
    func file002() throws {
        let plan = try AmplifySpec.parse(Corpus.text("002.yml"), file: "002.yml", appRoot: nil)
        #expect(plan.stages.map(\.kind) == [.frontend, .test])
        #expect(plan.artifacts == ArtifactSelection(baseDirectory: "build", files: ["**/*"]))
        #expect(plan.cachePaths == ["node_modules/**/*"])
        let test = try #require(plan.stages.last)
        #expect(test.phases.map(\.name) == ["preTest", "test"])
        #expect(
            test.phases[1].commands.map(\.text) == [
                "npm run cypress:run", "npm run merge-reports", "npm run generate-report",
            ])
        #expect(test.phases[1].commands.first?.location?.line == 24)
        #expect(plan.testArtifacts?.baseDirectory == "cypress/reports/mochawesome")
        #expect(plan.hasTests)
    }

    @Test("010.yml: buildPath '/' builds at the repository root, so baseDirectory is apps/web/.next from there")
    func file010() throws {
        let plan = try AmplifySpec.parse(Corpus.text("010.yml"), file: "010.yml", appRoot: "apps/web")
        #expect(plan.appRoot == "")
        #expect(plan.artifacts.baseDirectory == "apps/web/.next")
        #expect(plan.stages.count == 1)
        #expect(plan.stages[0].kind == .frontend)
        #expect(plan.stages[0].phases.map(\.name) == ["preBuild", "build"])
        #expect(plan.stages[0].phases[1].commands.map(\.text) == ["npx nx build web"])
    }

    @Test("012.yml: two applications; no appRoot is an error listing both, each appRoot picks its own")
    func file012() throws {
        let yaml = try Corpus.text("012.yml")
        let error = try #require(throws: SpecError.self) { try AmplifySpec.parse(yaml, file: "012.yml", appRoot: nil) }
        #expect(error.diagnostics.first?.location.line == 2)
        #expect(error.description.contains("apps/web") && error.description.contains("apps/api"))
        let web = try AmplifySpec.parse(yaml, file: "012.yml", appRoot: "apps/web")
        #expect(web.appRoot == "apps/web")
        #expect(web.artifacts.baseDirectory == "out")
        // apps/api has backend commands and no artifacts: deploying its folder would publish its
        // sources, so it is an error at its line (#14).
        let api = try #require(throws: SpecError.self) {
            try AmplifySpec.parse(yaml, file: "012.yml", appRoot: "./apps/api/")
        }
        #expect(api.diagnostics.map(\.location.line) == [32])
        #expect(api.description.contains("no artifacts section"))
        let missing = try #require(throws: SpecError.self) {
            try AmplifySpec.parse(yaml, file: "012.yml", appRoot: "apps/nope")
        }
        #expect(missing.description.contains("apps/nope"))
        #expect(missing.description.contains("apps/web, apps/api"))
    }

    @Test("040.yml: a committed merge conflict is reported at its marker line")
    func file040() throws {
        let error = try #require(throws: SpecError.self) {
            try AmplifySpec.parse(Corpus.text("040.yml"), file: "040.yml", appRoot: "frontend")
        }
        #expect(error.diagnostics.first?.location.line == 7)
        #expect(error.description.contains("merge conflict"))
    }

    @Test("080.yml: customHeaders given as a file name is an error at line 17")
    func file080() throws {
        let error = try #require(throws: SpecError.self) {
            try AmplifySpec.parse(Corpus.text("080.yml"), file: "080.yml", appRoot: nil)
        }
        #expect(error.diagnostics.map(\.location.line) == [17])
        #expect(error.description.contains("customHeaders"))
    }

    @Test("070.yml: baseDirectory '/' is the application root, not the disk root")
    func file070() throws {
        let plan = try AmplifySpec.parse(Corpus.text("070.yml"), file: "070.yml", appRoot: nil)
        #expect(plan.artifacts.baseDirectory == ".")
    }

    @Test("032.yml: empty command lists give no stage but keep the artifacts")
    func file032() throws {
        let plan = try AmplifySpec.parse(Corpus.text("032.yml"), file: "032.yml", appRoot: nil)
        #expect(plan.stages.isEmpty)
        #expect(plan.artifacts.baseDirectory == "dist")
        #expect(plan.cachePaths.isEmpty)
    }
}
