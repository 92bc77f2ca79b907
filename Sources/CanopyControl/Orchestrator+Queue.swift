import CanopyStore
import Foundation
import Logging

extension Orchestrator {
    // MARK: The build queue

    /// Queues a commit. A queued older commit of the same branch is superseded at once; a running one
    /// is cancelled, so an older build is never deployed over a newer one.
    func enqueue(_ job: BuildJob) async {
        let key = job.key
        let older = pending[key]
        pending[key] = job
        if !siteTurns.contains(key.site) { siteTurns.append(key.site) }
        if let current = running[key], current.job.commit != job.commit {
            logger.info(
                "newer commit \(job.commit.prefix(7)) supersedes the running build \(current.job.id)",
                metadata: ["site": "\(key.site)", "branch": "\(key.branch)"])
            current.task.cancel()
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
            if pending[key]?.id == job.id { pending[key] = older }
            return
        }
        if let older {
            try? await state.updateBuild(older.id, status: .superseded, error: "Superseded by \(job.commit.prefix(7)).")
        }
        emit(.buildQueued(record))
        startBuilds()
    }

    /// Starts queued builds while slots are free: one per branch at a time, sites taking turns.
    func startBuilds() {
        while running.count < config.buildConcurrency, let job = nextJob() {
            pending[job.key] = nil
            let task = Task { await self.execute(job) }
            running[job.key] = RunningBuild(job: job, task: task)
        }
    }

    /// The next job: from the first site in turn order that has a branch ready (not already building).
    private func nextJob() -> BuildJob? {
        for (index, site) in siteTurns.enumerated() {
            let ready = pending.values
                .filter { $0.key.site == site && running[$0.key] == nil }
                .min { $0.queuedAt < $1.queuedAt }
            guard let job = ready else { continue }
            siteTurns.remove(at: index)
            if pending.keys.contains(where: { $0.site == site && $0 != job.key }) { siteTurns.append(site) }
            return job
        }
        return nil
    }

    /// A build ended (in any way): free its slot and start what waits.
    func buildEnded(_ job: BuildJob) {
        if running[job.key]?.job.id == job.id { running[job.key] = nil }
        if pending.keys.contains(where: { $0.site == job.key.site }), !siteTurns.contains(job.key.site) {
            siteTurns.append(job.key.site)
        }
        startBuilds()
    }

    /// True while `job` is still the newest commit known for its branch.
    func isCurrent(_ job: BuildJob) -> Bool {
        pending[job.key] == nil && running[job.key]?.job.id == job.id
    }

    /// Queue length and running builds, for status and metrics.
    var queueSnapshot: (queued: Int, running: [String]) {
        (pending.count, running.values.map(\.job.id))
    }
}
