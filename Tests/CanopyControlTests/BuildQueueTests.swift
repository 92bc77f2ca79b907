import Foundation
import Testing

@testable import CanopyControl

/// The queue's rules alone: no git, no builds, no edge.
struct BuildQueueTests {
    /// Jobs queued one second apart, named `site-branch-commit`.
    private final class Jobs {
        private var clock = Date(timeIntervalSince1970: 1_000_000)

        func callAsFunction(_ site: String, _ branch: String, _ commit: String) -> BuildJob {
            clock += 1
            return BuildJob(
                id: "\(site)-\(branch)-\(commit)", key: EnvironmentKey(site: site, branch: branch), kind: .branch,
                commit: commit, commitMessage: "", commitTime: clock, queuedAt: clock)
        }
    }

    /// Runs the queue to the end, one slot at a time: the order builds start in.
    private func drain(_ queue: inout BuildQueue) -> [String] {
        var order: [String] = []
        var started = queue.start()
        while let next = started.first {
            order.append(next.id)
            queue.finished(next)
            started = Array(started.dropFirst()) + queue.start()
        }
        return order
    }

    @Test func sitesTakeTurnsForFreeSlots() {
        let job = Jobs()
        var queue = BuildQueue(concurrency: 1)
        // Site a queues three branches before site b queues its one.
        for branch in ["one", "two", "three"] { _ = queue.enqueue(job("a", branch, "c1")) }
        _ = queue.enqueue(job("b", "main", "c1"))
        let order = drain(&queue)
        // b does not wait behind all of a's branches: it gets the second slot.
        #expect(order == ["a-one-c1", "b-main-c1", "a-two-c1", "a-three-c1"])
    }

    @Test func concurrencyIsBoundedAndOneBuildPerBranch() {
        let job = Jobs()
        var queue = BuildQueue(concurrency: 2)
        _ = queue.enqueue(job("a", "main", "c1"))
        _ = queue.enqueue(job("a", "dev", "c1"))
        _ = queue.enqueue(job("b", "main", "c1"))
        let first = queue.start()
        #expect(first.map(\.id) == ["a-main-c1", "b-main-c1"])
        #expect(queue.start().isEmpty)
        // A newer commit of a running branch waits for that branch's build to end, even with a slot free.
        queue.finished(first[1])
        _ = queue.enqueue(job("a", "main", "c2"))
        #expect(queue.start().map(\.id) == ["a-dev-c1"])
        queue.finished(queue.running[EnvironmentKey(site: "a", branch: "dev")]!)
        #expect(queue.start().isEmpty)
        #expect(queue.running[EnvironmentKey(site: "a", branch: "main")]?.commit == "c1")
        queue.finished(first[0])
        #expect(queue.start().map(\.id) == ["a-main-c2"])
    }

    @Test func aNewerCommitSupersedesTheQueuedOne() {
        let job = Jobs()
        var queue = BuildQueue(concurrency: 1)
        let busy = job("a", "busy", "c1")
        _ = queue.enqueue(busy)
        _ = queue.start()
        let older = job("a", "main", "c1")
        #expect(queue.enqueue(older) == BuildQueue.Displaced())
        let newer = job("a", "main", "c2")
        #expect(queue.enqueue(newer) == BuildQueue.Displaced(superseded: older))
        #expect(queue.pending.count == 1)
        queue.finished(busy)
        // Only the newer commit ever builds.
        #expect(drain(&queue) == ["a-main-c2"])
    }

    @Test func aNewerCommitCancelsTheRunningOne() {
        let job = Jobs()
        var queue = BuildQueue(concurrency: 1)
        let older = job("a", "main", "c1")
        _ = queue.enqueue(older)
        #expect(queue.start() == [older])
        #expect(queue.isCurrent(older))
        let newer = job("a", "main", "c2")
        #expect(queue.enqueue(newer) == BuildQueue.Displaced(cancelled: older))
        // The older build is no longer current: its deployment must not be activated.
        #expect(!queue.isCurrent(older))
        #expect(queue.isSuperseded(older))
        #expect(queue.start().isEmpty)
        queue.finished(older)
        #expect(queue.start() == [newer])
        #expect(queue.isCurrent(newer))
    }

    @Test func theSameCommitIsNotQueuedTwice() {
        let job = Jobs()
        var queue = BuildQueue(concurrency: 1)
        let first = job("a", "main", "c1")
        _ = queue.enqueue(first)
        #expect(queue.contains(first.key, commit: "c1"))
        _ = queue.start()
        #expect(queue.contains(first.key, commit: "c1"))
        #expect(!queue.contains(first.key, commit: "c2"))
    }

    @Test func aDeletedBranchLeavesTheQueue() {
        let job = Jobs()
        var queue = BuildQueue(concurrency: 1)
        let running = job("a", "main", "c1")
        _ = queue.enqueue(running)
        _ = queue.start()
        _ = queue.enqueue(job("a", "main", "c2"))
        #expect(queue.removeBranch(running.key) == running)
        queue.finished(running)
        #expect(queue.start().isEmpty)
        #expect(queue.snapshot.queued == 0)
    }
}
