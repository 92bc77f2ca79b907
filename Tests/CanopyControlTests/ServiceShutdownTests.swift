import CanopyStore
import CanopyTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Testing

@testable import CanopyControl

/// The long-running parts are `Service`s that own their work: graceful shutdown ends them, and what
/// they started (a delivery, a timer) has ended when their `run()` returns.
struct ServiceShutdownTests {
    let logger = Logger(label: "test")

    /// An orchestrator on an empty Sites folder, an in-memory state and a fake edge.
    func orchestrator(_ folder: TempFolder) throws -> (Orchestrator, DataFolder, BlockingExecutor) {
        let data = DataFolder(folder.path + "/data")
        try data.create()
        try FileManager.default.createDirectory(atPath: folder.path + "/Sites", withIntermediateDirectories: true)
        let config = CanopyConfiguration(sitesDirectory: folder.path + "/Sites", dataDirectory: data.root)
        let blocking = BlockingExecutor(threads: 1)
        let orchestrator = Orchestrator(
            config: config, data: data, state: try SQLiteStateStore(), store: try DeploymentStore(root: data.store),
            edge: RecordingEdge(), blocking: blocking, logger: logger)
        return (orchestrator, data, blocking)
    }

    /// Runs `body` and fails the test (instead of hanging it) when it has not returned after a
    /// minute: what is tested ends at once, a minute means it waits on something else. The body runs
    /// in a task of its own so that a body that never ends cannot hold the test.
    func endsAtOnce(_ what: String, _ body: @escaping @Sendable () async throws -> Void) async throws {
        let outcome = Outcome()
        let run = Task {
            try await body()
            await outcome.set(true)
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while await outcome.ended == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(await outcome.ended == true, "\(what) did not end")
        if await outcome.ended == true { try await run.value }
    }

    actor Outcome {
        var ended: Bool?
        func set(_ value: Bool) { ended = value }
    }

    /// Returns once the follower's loop waits for a poke or its timer.
    func waitUntilWaiting(_ follower: RepositoryFollower) async {
        while await !follower.isWaiting { try? await Task.sleep(for: .milliseconds(5)) }
    }

    /// A notification queued just before shutdown is delivered before the notifier's `run()` returns
    /// (before, each went out in a task nobody owned, and could be cut off or outlive the server).
    @Test func aQueuedNotificationIsDeliveredBeforeShutdownEnds() async throws {
        let hooks = try HookListener()
        let notifier = Notifier(logger: logger)
        let group = ServiceGroup(services: [notifier], logger: logger)
        try await endsAtOnce("the notifier") {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                notifier.send(
                    to: "http://127.0.0.1:\(hooks.port)/hook",
                    .init(event: "build.succeeded", site: "s", branch: "main", at: Date()))
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
        #expect(hooks.events.map { $0["event"] as? String } == ["build.succeeded"])
    }

    /// Cancelling the follower while it waits for its next poll ends it at once: the wait's timer is a
    /// child task that is cancelled with it (before, an unowned timer task had to fire first, an
    /// hour here).
    @Test func theFollowerEndsMidSleepAndLeavesNoTimer() async throws {
        let folder = try TempFolder("follower")
        let (orchestrator, data, blocking) = try orchestrator(folder)
        let follower = RepositoryFollower(
            orchestrator: orchestrator, data: data, blocking: blocking, pollInterval: .seconds(3600),
            sitesPollInterval: .seconds(3600), logger: logger)
        let group = ServiceGroup(services: [follower], logger: logger)
        try await endsAtOnce("the follower") {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                await waitUntilWaiting(follower)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
        // Cancelled outside a service group (the group's shutdown deadline does this), too.
        try await endsAtOnce("the cancelled follower") {
            let run = Task { try await follower.run() }
            _ = await follower.poke(repository: nil)
            await waitUntilWaiting(follower)
            run.cancel()
            try await run.value
        }
        try await blocking.shutdown()
    }

    /// The rollout ticker stops between ticks at graceful shutdown.
    @Test func theRolloutTickerStopsAtShutdown() async throws {
        let folder = try TempFolder("ticker")
        let (orchestrator, _, blocking) = try orchestrator(folder)
        let ticker = RolloutTicker(orchestrator: orchestrator, logger: logger, interval: .seconds(3600))
        let group = ServiceGroup(services: [ticker], logger: logger)
        try await endsAtOnce("the rollout ticker") {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
        try await blocking.shutdown()
    }
}
