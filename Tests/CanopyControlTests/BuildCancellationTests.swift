import CanopyStore
import CanopyTestSupport
import Foundation
import Logging
import Testing

@testable import CanopyControl

/// A newer push cancels the running build's task at any point, even before that build has begun.
/// Its result is recorded all the same: a build is never left `running` or `queued` for ever.
struct BuildCancellationTests {
    @Test func aBuildCancelledBeforeItBeginsIsRecordedAsEnded() async throws {
        let folder = try TempFolder("cancel")
        let data = DataFolder(folder.path + "/data")
        try data.create()
        let sites = folder.path + "/Sites"
        try FileManager.default.createDirectory(atPath: sites, withIntermediateDirectories: true)
        try "repository: \(folder.path)/s.git\nbranches:\n  main: { domains: [a.test] }\n"
            .write(toFile: sites + "/s.yml", atomically: true, encoding: .utf8)
        let state = try SQLiteStateStore()
        let blocking = BlockingExecutor(threads: 1)
        let orchestrator = Orchestrator(
            config: CanopyConfiguration(sitesDirectory: sites, dataDirectory: data.root), data: data, state: state,
            store: try DeploymentStore(root: data.store), edge: RecordingEdge(), blocking: blocking,
            logger: Logger(label: "test"))
        _ = await orchestrator.reloadSites()
        #expect(await orchestrator.sites["s"] != nil)

        let job = BuildJob(
            id: "b-cancelled", key: EnvironmentKey(site: "s", branch: "main"), kind: .branch,
            commit: String(repeating: "a", count: 40), commitMessage: "m", commitTime: Date(), queuedAt: Date())
        try await state.insertBuild(
            BuildRecord(
                id: job.id, site: "s", branch: "main", commit: job.commit, commitMessage: "m", status: .queued,
                queuedAt: job.queuedAt, logPath: data.buildLog(job.id)))
        // The build's task is cancelled before its first step, as `enqueue` cancels a superseded one.
        let run = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await orchestrator.execute(job)
        }
        await run.value
        let record = try #require(try await state.build(id: job.id))
        #expect(record.status == .cancelled)
        #expect(record.finishedAt != nil)
        try await blocking.shutdown()
    }
}
