import CanopyBuild
import CanopySpec
import CanopyTestSupport
import Foundation
import Logging

/// A temporary folder with a source checkout, a log path and an artifact path for one test build.
struct Fixture {
    let folder: String
    /// Unique per fixture: a build's processes carry it, and the runner stops stray ones by it, so
    /// builds of tests running at the same time must not share one.
    let buildID = "b-" + UUID().uuidString.prefix(8).lowercased()
    var source: String { folder + "/src" }
    var logFile: String { folder + "/logs/build.log" }
    var artifacts: String { folder + "/out" }

    init() throws {
        folder = try makeTemporaryDirectory("build-test")
        try FileManager.default.createDirectory(atPath: folder + "/src", withIntermediateDirectories: true)
    }

    func write(_ relative: String, _ text: String) throws {
        let path = source + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    var log: String { read(logFile) ?? "" }

    func artifactFiles() -> [String] {
        (FileManager.default.enumerator(atPath: artifacts)?.allObjects as? [String] ?? []).filter {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: artifacts + "/" + $0, isDirectory: &isDirectory)
            return !isDirectory.boolValue
        }.sorted()
    }

    func request(_ plan: BuildPlan, timeout: Duration = .seconds(300)) -> BuildRequest {
        BuildRequest(
            buildID: buildID, site: "example", branch: "dev", commit: "abc123", sourceDirectory: source, plan: plan,
            cloneURL: "file:///repo.git", timeout: timeout, logFile: logFile, artifactDirectory: artifacts)
    }

    func run(_ request: BuildRequest) async -> BuildResult {
        await BuildRunner(scratchRoot: folder).run(
            request, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    func remove() { try? FileManager.default.removeItem(atPath: folder) }
}

/// A command located at `amplify.yml:line:11`.
func command(_ text: String, line: Int) -> BuildCommand {
    BuildCommand(text, location: SourceLocation(file: "amplify.yml", line: line, column: 11))
}

/// One frontend stage whose `build` phase runs `commands`, deploying `dist`.
func frontendPlan(
    _ commands: [String], artifacts: ArtifactSelection = ArtifactSelection(baseDirectory: "dist", files: ["**/*"])
) -> BuildPlan {
    BuildPlan(
        specFile: "amplify.yml",
        stages: [
            BuildStage(
                kind: .frontend,
                phases: [
                    BuildPhase(
                        name: "build",
                        commands: commands.enumerated().map { command($0.element, line: 10 + $0.offset) })
                ])
        ],
        artifacts: artifacts)
}

/// Waits until `condition` holds, for up to `seconds`.
func eventually(seconds: Double = 60, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return condition()
}

/// True when `pid` no longer runs (gone, or a zombie waiting for its reaper).
func processIsGone(_ pid: Int32) -> Bool {
    if kill(pid, 0) != 0 { return true }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return true }
    return stat[stat.index(close, offsetBy: 2)] == "Z"
}
