import Foundation

/// The build queue's rules as a value: at most `concurrency` builds at once, at most one per branch,
/// a newer commit of a branch superseding the one queued before it (and cancelling the one running),
/// and free slots going to sites in turn, so that a site with many branches cannot starve another.
///
/// Pure: it decides, the `Orchestrator` acts (records builds, starts and cancels their tasks).
struct BuildQueue: Sendable {
    /// How many builds may run at once (at least 1).
    let concurrency: Int
    /// The newest commit waiting to build, per branch.
    private(set) var pending: [EnvironmentKey: BuildJob] = [:]
    /// The build running, per branch.
    private(set) var running: [EnvironmentKey: BuildJob] = [:]
    /// Sites in the order they get the next free slot (round-robin).
    private var siteTurns: [String] = []

    init(concurrency: Int) {
        self.concurrency = max(1, concurrency)
    }

    /// What queuing a job displaced.
    struct Displaced: Sendable, Equatable {
        /// The older commit of the branch that was waiting: it will never run.
        var superseded: BuildJob?
        /// The older commit of the branch that is running: its build should be cancelled.
        var cancelled: BuildJob?
    }

    /// Queues `job`, replacing an older queued commit of its branch. A running build of another
    /// commit of the branch is returned for cancelling; it keeps its slot until `finished(_:)`.
    mutating func enqueue(_ job: BuildJob) -> Displaced {
        let older = pending[job.key]
        pending[job.key] = job
        if !siteTurns.contains(job.key.site) { siteTurns.append(job.key.site) }
        var displaced = Displaced(superseded: older?.id == job.id ? nil : older)
        if let current = running[job.key], current.commit != job.commit { displaced.cancelled = current }
        return displaced
    }

    /// Takes back a queued job that could not be recorded (a full disk), putting back the older
    /// job of its branch that it had replaced.
    mutating func withdraw(_ job: BuildJob, restoring older: BuildJob?) {
        guard pending[job.key]?.id == job.id else { return }
        pending[job.key] = older
    }

    /// Takes the jobs that may start now (marking them running): while slots are free, the oldest
    /// ready branch of the next site in turn, never a second build of a branch.
    mutating func start() -> [BuildJob] {
        var started: [BuildJob] = []
        while running.count < concurrency, let job = nextJob() {
            pending[job.key] = nil
            running[job.key] = job
            started.append(job)
        }
        return started
    }

    /// A build ended (in any way): its slot is free. Call `start()` next.
    mutating func finished(_ job: BuildJob) {
        if running[job.key]?.id == job.id { running[job.key] = nil }
        if pending.keys.contains(where: { $0.site == job.key.site }), !siteTurns.contains(job.key.site) {
            siteTurns.append(job.key.site)
        }
    }

    /// A branch is gone: drops its queued job; returns its running one (to cancel).
    mutating func removeBranch(_ key: EnvironmentKey) -> BuildJob? {
        pending[key] = nil
        return running[key]
    }

    /// True when `commit` is already running or queued for the branch.
    func contains(_ key: EnvironmentKey, commit: String) -> Bool {
        running[key]?.commit == commit || pending[key]?.commit == commit
    }

    /// True while a newer commit of the job's branch waits.
    func isSuperseded(_ job: BuildJob) -> Bool {
        pending[job.key] != nil
    }

    /// True while `job` is still the newest commit known for its branch.
    func isCurrent(_ job: BuildJob) -> Bool {
        pending[job.key] == nil && running[job.key]?.id == job.id
    }

    /// Queue length and running build ids, for status and metrics.
    var snapshot: (queued: Int, running: [String]) {
        (pending.count, running.values.map(\.id).sorted())
    }

    /// The first site in turn order with a branch ready (queued, not building); that site goes to
    /// the back of the line if it has more waiting.
    private mutating func nextJob() -> BuildJob? {
        for (index, site) in siteTurns.enumerated() {
            let ready = pending.values
                .filter { $0.key.site == site && running[$0.key] == nil }
                .min { ($0.queuedAt, $0.id) < ($1.queuedAt, $1.id) }
            guard let job = ready else { continue }
            siteTurns.remove(at: index)
            if pending.keys.contains(where: { $0.site == site && $0 != job.key }) { siteTurns.append(site) }
            return job
        }
        return nil
    }
}
