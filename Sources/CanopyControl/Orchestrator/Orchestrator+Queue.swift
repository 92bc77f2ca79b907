import CanopyStore
import Foundation
import Logging

extension Orchestrator {
    // MARK: The build queue (its rules are `BuildQueue`'s; here they are recorded and acted on)

    /// Queues a commit. A queued older commit of the same branch is superseded at once; a running one
    /// is cancelled, so an older build is never deployed over a newer one.
    func enqueue(_ job: BuildJob) async {
        let key = job.key
        let displaced = queue.enqueue(job)
        if let current = displaced.cancelled {
            logger.info(
                "newer commit \(job.commit.prefix(7)) supersedes the running build \(current.id)",
                metadata: ["site": "\(key.site)", "branch": "\(key.branch)"])
            buildTasks[current.id]?.cancel()
        }
        let record = BuildRecord(
            id: job.id, site: key.site, branch: key.branch, commit: job.commit, commitMessage: job.commitMessage,
            status: .queued, queuedAt: job.queuedAt, logPath: data.buildLog(job.id))
        // GRDB runs writes in the order they are submitted, so the insert lands before any later
        // status change of this build, and before the older one is marked superseded.
        do {
            try await state.insertBuild(record)
        } catch {
            // A build that cannot be recorded (a full disk) does not run: serving goes on, and the
            // next scan queues the commit again.
            let now = ContinuousClock.now
            let again = buildRecordFailedAt.map { now - $0 < .seconds(60) } ?? false
            logger.log(
                level: again ? .debug : .error, "cannot record build \(job.id), so it does not run: \(error)",
                metadata: ["site": "\(key.site)", "branch": "\(key.branch)", "commit": "\(job.commit.prefix(7))"])
            if !again { buildRecordFailedAt = now }
            queue.withdraw(job, restoring: displaced.superseded)
            return
        }
        if let older = displaced.superseded {
            try? await state.updateBuild(older.id, status: .superseded, error: "Superseded by \(job.commit.prefix(7)).")
        }
        emit(.buildQueued(record))
        startBuilds()
    }

    /// Starts the builds the queue lets start now, each in a task of its own.
    func startBuilds() {
        for job in queue.start() {
            buildTasks[job.id] = Task { await self.execute(job) }
        }
    }

    /// A build ended (in any way): free its slot and start what waits.
    func buildEnded(_ job: BuildJob) {
        buildTasks[job.id] = nil
        queue.finished(job)
        startBuilds()
    }
}
