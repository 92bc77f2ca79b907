import CanopyEdge
import CanopySpec
import CanopyStore
import Foundation
import Logging

extension Orchestrator {
    // MARK: Progressive rollout

    /// Whether a new deployment of this environment goes through a rollout (health gates, a canary
    /// or linear schedule) rather than straight to all traffic.
    static func needsRollout(_ settings: EnvironmentSettings) -> Bool {
        settings.rollout != .allAtOnce || !settings.health.isEmpty
    }

    /// Starts a rollout of `deployment` for a branch: first health checks, no traffic yet.
    func beginRollout(site: String, branch: String, deployment: String, settings: EnvironmentSettings) async throws {
        let env = try await state.environment(site: site, branch: branch)
        var from = env?.activeDeployment
        if let current = try await state.rollout(site: site, branch: branch), current.status.isActive {
            // A newer deployment supersedes one still rolling out; the stable one stays the baseline.
            from = current.fromDeployment
            logger.info(
                "rollout of \(current.toDeployment) superseded by \(deployment)",
                metadata: ["site": "\(site)", "branch": "\(branch)"])
        }
        let record = RolloutRecord(
            site: site, branch: branch, fromDeployment: from, toDeployment: deployment,
            strategy: settings.rollout.description, percent: 0, status: .checking, startedAt: Date(), nextStepAt: Date()
        )
        try await state.saveRollout(record)
        rolloutBaselines[EnvironmentKey(site: site, branch: branch)] = edge.stats(deployment: deployment)
        emit(.rolloutChanged(record))
        await tickRollouts()
    }

    /// Advances every rollout that is due; rolls back the ones whose health gate or error rate fails.
    /// Called every half second by the rollout service, and after each change.
    func tickRollouts() async {
        guard let rollouts = try? await state.rollouts(activeOnly: true) else { return }
        var changed = false
        for rollout in rollouts {
            guard let site = catalog.sites[rollout.site],
                let config = SitesSpec.environment(for: rollout.branch, commit: nil, in: site)
            else { continue }
            do {
                if let next = try await step(rollout, settings: config.settings), next != rollout {
                    try await state.saveRollout(next)
                    changed = true
                    emit(.rolloutChanged(next))
                    log(next)
                }
            } catch {
                logger.error(
                    "rollout step failed: \(error)",
                    metadata: ["site": "\(rollout.site)", "branch": "\(rollout.branch)"])
            }
        }
        if changed { try? await publishRoutes() }
    }

    private func log(_ r: RolloutRecord) {
        let meta: Logger.Metadata = ["site": "\(r.site)", "branch": "\(r.branch)", "deployment": "\(r.toDeployment)"]
        switch r.status {
        case .rolledBack: logger.error("rollout rolled back: \(r.message ?? "")", metadata: meta)
        case .completed: logger.notice("rollout completed: \(r.toDeployment) takes all traffic", metadata: meta)
        default: logger.info("rollout \(r.status.rawValue) at \(r.percent)%", metadata: meta)
        }
    }

    /// One rollout's next state, or nil when nothing changes now.
    private func step(_ r: RolloutRecord, settings: EnvironmentSettings) async throws -> RolloutRecord? {
        var next = r
        let now = Date()
        let key = EnvironmentKey(site: r.site, branch: r.branch)
        switch r.status {
        case .checking:
            if let failure = try await failingHealthPath(r.toDeployment, paths: settings.health) {
                next.status = .rolledBack
                next.nextStepAt = nil
                next.message = "health gate failed before any traffic: \(failure)"
                return next
            }
            next.status = .running
            next.percent = firstShare(settings.rollout, hasBaseline: r.fromDeployment != nil)
            next.nextStepAt = next.percent >= 100 ? nil : now.addingTimeInterval(Double(interval(settings.rollout)))
            if next.percent >= 100 { next.status = .completed }
            return next
        case .running:
            // Error rate of the new deployment on real traffic since the rollout began.
            let stats = edge.stats(deployment: r.toDeployment)
            let base = rolloutBaselines[key] ?? DeploymentTrafficStats()
            let requests = stats.requests - base.requests
            let errors = (stats.serverErrors - base.serverErrors) + (stats.notFound - base.notFound)
            if requests >= minimumRequestsForErrorRate, Double(errors) / Double(requests) > settings.maxErrorRate {
                next.status = .rolledBack
                next.nextStepAt = nil
                next.message = String(
                    format: "error rate %.1f%% (%d of %d requests answered 5xx or 404) exceeded %.1f%%",
                    100 * Double(errors) / Double(requests), errors, requests, 100 * settings.maxErrorRate)
                return next
            }
            guard let due = r.nextStepAt, due <= now else { return nil }
            if let failure = try await failingHealthPath(r.toDeployment, paths: settings.health) {
                next.status = .rolledBack
                next.nextStepAt = nil
                next.message = "health check failed during the rollout: \(failure)"
                return next
            }
            next.percent = min(100, nextShare(settings.rollout, current: r.percent))
            if next.percent >= 100 {
                next.status = .completed
                next.nextStepAt = nil
                next.message = "all traffic moved"
            } else {
                next.nextStepAt = now.addingTimeInterval(Double(interval(settings.rollout)))
            }
            return next
        default:
            return nil
        }
    }

    var minimumRequestsForErrorRate: Int { 20 }

    private func firstShare(_ strategy: RolloutStrategy, hasBaseline: Bool) -> Int {
        guard hasBaseline else { return 100 }
        switch strategy {
        case .allAtOnce: return 100
        case .canary(let percent, _), .linear(let percent, _): return max(1, min(100, percent))
        }
    }

    private func nextShare(_ strategy: RolloutStrategy, current: Int) -> Int {
        switch strategy {
        case .allAtOnce, .canary: return 100
        case .linear(let percent, _): return current + max(1, percent)
        }
    }

    private func interval(_ strategy: RolloutStrategy) -> Int {
        switch strategy {
        case .allAtOnce: return 0
        case .canary(_, let seconds), .linear(_, let seconds): return max(1, seconds)
        }
    }

    /// The first health path the deployment does not answer with 2xx or 3xx, described; nil when all pass.
    func failingHealthPath(_ deploymentID: String, paths: [String]) async throws -> String? {
        guard !paths.isEmpty else { return nil }
        let deployment = try await servedDeployment(deploymentID)
        for path in paths {
            let status = edge.probe(deployment: deployment, path: path)
            if !(200..<400).contains(status) { return "\(path) answered \(status)" }
        }
        return nil
    }

    // MARK: Operator control

    func rolloutCommand(_ name: String, action: String, actor: String) async throws -> RolloutRecord {
        let key = try await environmentKey(for: name)
        guard var r = try await state.rollout(site: key.site, branch: key.branch) else {
            throw TrafficError("\(key) has no rollout", notFound: true)
        }
        if action == "status" { return r }
        guard r.status.isActive else {
            throw TrafficError("the rollout of \(r.toDeployment) on \(key) is \(r.status.rawValue) already")
        }
        let before = "\(r.status.rawValue) \(r.percent)%"
        switch action {
        case "pause":
            r.status = .paused
            r.nextStepAt = nil
            r.message = "paused by \(actor)"
        case "resume":
            r.status = .running
            r.nextStepAt = Date()
            r.message = "resumed by \(actor)"
        case "promote":
            r.status = .completed
            r.percent = 100
            r.nextStepAt = nil
            r.message = "promoted by \(actor)"
        case "abort":
            r.status = .aborted
            r.nextStepAt = nil
            r.message = "aborted by \(actor)"
        default:
            throw TrafficError("unknown rollout action \(action): use status, pause, resume, promote or abort")
        }
        try await state.saveRollout(r)
        try await state.recordAudit(
            AuditEntry(
                actor: actor, action: "rollout-\(action)", target: key.description, before: before,
                after: "\(r.status.rawValue) \(r.percent)%"))
        try await publishRoutes()
        emit(.rolloutChanged(r))
        log(r)
        return r
    }
}
