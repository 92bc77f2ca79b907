import CanopyEdge
import CanopySpec
import CanopyStore
import Foundation

/// Progressive rollouts: a new deployment is health-checked before any traffic, then takes a growing
/// share (canary or linear) while its error rate stays under the threshold, and is rolled back when
/// a gate fails. Its state lives in the store; its arithmetic is `RolloutSchedule`'s.
///
/// It never talks to the edge itself: the caller passes the new deployment's traffic counters and a
/// health check, and publishes routes after a change.
struct RolloutController: Sendable {
    let state: any TrafficStateStore

    /// What an operator may do to a rollout in progress.
    enum Action: String, Sendable, CaseIterable {
        case pause, resume, promote, abort
    }

    // MARK: Starting

    /// Starts a rollout of `deployment` for a branch: first health checks, no traffic yet. A rollout
    /// still in progress is superseded, and its stable deployment stays the baseline. Returns the
    /// saved record and the deployment whose rollout was superseded, if any.
    func begin(
        site: String, branch: String, deployment: String, settings: EnvironmentSettings, now: Date = Date()
    ) async throws -> (record: RolloutRecord, superseded: String?) {
        let env = try await state.environment(site: site, branch: branch)
        var from = env?.activeDeployment
        var superseded: String?
        if let current = try await state.rollout(site: site, branch: branch), current.status.isActive {
            from = current.fromDeployment
            superseded = current.toDeployment
        }
        let record = RolloutRecord(
            site: site, branch: branch, fromDeployment: from, toDeployment: deployment,
            strategy: settings.rollout.description, percent: 0, status: .checking, startedAt: now, nextStepAt: now)
        try await state.saveRollout(record)
        return (record, superseded)
    }

    // MARK: Stepping

    /// Whether a health gate is due at `now`: before any traffic, and at each step.
    static func healthCheckDue(_ r: RolloutRecord, now: Date) -> Bool {
        switch r.status {
        case .checking: return true
        case .running: return r.nextStepAt.map { $0 <= now } ?? false
        default: return false
        }
    }

    /// One rollout's next state at `now`, or nil when nothing changes now. `traffic` is the new
    /// deployment's counters now and `baseline` what they were when the rollout began;
    /// `healthFailure` is the failed health path, described (nil when all pass or when no gate is
    /// due, see `healthCheckDue`).
    static func step(
        _ r: RolloutRecord, settings: EnvironmentSettings, now: Date, traffic: DeploymentTrafficStats,
        baseline: DeploymentTrafficStats, healthFailure: String?
    ) -> RolloutRecord? {
        var next = r
        switch r.status {
        case .checking:
            if let failure = healthFailure {
                return rolledBack(r, "health gate failed before any traffic: \(failure)")
            }
            next.status = .running
            next.percent = RolloutSchedule.firstShare(settings.rollout, hasBaseline: r.fromDeployment != nil)
            if next.percent >= 100 {
                next.status = .completed
                next.nextStepAt = nil
            } else {
                next.nextStepAt = now.addingTimeInterval(Double(RolloutSchedule.interval(settings.rollout)))
            }
            return next
        case .running:
            if let failure = RolloutSchedule.errorRateFailure(
                current: traffic, baseline: baseline, maxErrorRate: settings.maxErrorRate)
            {
                return rolledBack(r, failure)
            }
            guard let due = r.nextStepAt, due <= now else { return nil }
            if let failure = healthFailure {
                return rolledBack(r, "health check failed during the rollout: \(failure)")
            }
            next.percent = RolloutSchedule.nextShare(settings.rollout, current: r.percent)
            if next.percent >= 100 {
                next.status = .completed
                next.nextStepAt = nil
                next.message = "all traffic moved"
            } else {
                next.nextStepAt = now.addingTimeInterval(Double(RolloutSchedule.interval(settings.rollout)))
            }
            return next
        default:
            return nil
        }
    }

    private static func rolledBack(_ r: RolloutRecord, _ message: String) -> RolloutRecord {
        var next = r
        next.status = .rolledBack
        next.nextStepAt = nil
        next.message = message
        return next
    }

    // MARK: Operator control

    /// A rollout after an operator's action; refuses one that is over already.
    static func apply(_ action: Action, to r: RolloutRecord, actor: String, now: Date = Date()) throws -> RolloutRecord
    {
        guard r.status.isActive else {
            throw TrafficError(
                "the rollout of \(r.toDeployment) on \(r.site)/\(r.branch) is \(r.status.rawValue) already")
        }
        var next = r
        next.nextStepAt = nil
        switch action {
        case .pause:
            next.status = .paused
            next.message = "paused by \(actor)"
        case .resume:
            next.status = .running
            next.nextStepAt = now
            next.message = "resumed by \(actor)"
        case .promote:
            next.status = .completed
            next.percent = 100
            next.message = "promoted by \(actor)"
        case .abort:
            next.status = .aborted
            next.message = "aborted by \(actor)"
        }
        return next
    }

    /// `status` (the record as it is) or an action on a branch's rollout, saved with an audit entry.
    func command(_ name: String, on key: EnvironmentKey, actor: String) async throws -> RolloutRecord {
        guard let r = try await state.rollout(site: key.site, branch: key.branch) else {
            throw TrafficError("\(key) has no rollout", notFound: true)
        }
        if name == "status" { return r }
        guard let action = Action(rawValue: name) else {
            throw TrafficError("unknown rollout action \(name): use status, pause, resume, promote or abort")
        }
        let next = try Self.apply(action, to: r, actor: actor)
        try await state.saveRollout(next)
        try await state.recordAudit(
            AuditEntry(
                actor: actor, action: "rollout-\(name)", target: key.description,
                before: "\(r.status.rawValue) \(r.percent)%", after: "\(next.status.rawValue) \(next.percent)%"))
        return next
    }

    /// Abandons a branch's rollout in progress (a rollback decides instead).
    func abandon(_ key: EnvironmentKey, reason: String) async throws {
        guard var rollout = try await state.rollout(site: key.site, branch: key.branch), rollout.status.isActive
        else { return }
        rollout.status = .aborted
        rollout.nextStepAt = nil
        rollout.message = reason
        try await state.saveRollout(rollout)
    }
}
