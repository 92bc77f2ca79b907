import CanopyEdge
import CanopySpec
import CanopyStore
import Foundation
import Logging

extension Orchestrator {
    // MARK: Progressive rollout (the rules are `RolloutController`'s; here they meet the edge)

    /// Starts a rollout of `deployment` for a branch: first health checks, no traffic yet.
    func beginRollout(site: String, branch: String, deployment: String, settings: EnvironmentSettings) async throws {
        let (record, superseded) = try await rolloutController.begin(
            site: site, branch: branch, deployment: deployment, settings: settings)
        if let superseded {
            logger.info(
                "rollout of \(superseded) superseded by \(deployment)",
                metadata: ["site": "\(site)", "branch": "\(branch)"])
        }
        rolloutBaselines[EnvironmentKey(site: site, branch: branch)] = edge.stats(deployment: deployment)
        emit(.rolloutChanged(record))
        await tickRollouts()
    }

    /// Advances every rollout that is due; rolls back the ones whose health gate or error rate fails.
    /// Called every half second by the rollout service, and after each change.
    func tickRollouts() async {
        guard let rollouts = try? await state.rollouts(activeOnly: true) else { return }
        var changed: Set<String> = []
        for rollout in rollouts {
            guard let site = catalog.sites[rollout.site],
                let config = SitesSpec.environment(for: rollout.branch, commit: nil, in: site)
            else { continue }
            do {
                let key = EnvironmentKey(site: rollout.site, branch: rollout.branch)
                let now = Date()
                let health =
                    RolloutController.healthCheckDue(rollout, now: now)
                    ? try await failingHealthPath(rollout.toDeployment, paths: config.settings.health) : nil
                let next = RolloutController.step(
                    rollout, settings: config.settings, now: now, traffic: edge.stats(deployment: rollout.toDeployment),
                    baseline: rolloutBaselines[key] ?? DeploymentTrafficStats(), healthFailure: health)
                if let next, next != rollout {
                    try await state.saveRollout(next)
                    changed.insert(rollout.site)
                    emit(.rolloutChanged(next))
                    log(next)
                }
            } catch {
                logger.error(
                    "rollout step failed: \(error)",
                    metadata: ["site": "\(rollout.site)", "branch": "\(rollout.branch)"])
            }
        }
        if !changed.isEmpty { try? await publishRoutes(changed: changed) }
    }

    private func log(_ r: RolloutRecord) {
        let meta: Logger.Metadata = ["site": "\(r.site)", "branch": "\(r.branch)", "deployment": "\(r.toDeployment)"]
        switch r.status {
        case .rolledBack: logger.error("rollout rolled back: \(r.message ?? "")", metadata: meta)
        case .completed: logger.notice("rollout completed: \(r.toDeployment) takes all traffic", metadata: meta)
        default: logger.info("rollout \(r.status.rawValue) at \(r.percent)%", metadata: meta)
        }
    }

    /// The first health path the deployment does not answer with 2xx or 3xx, described; nil when all pass.
    /// Each is a HEAD request answered in process as a visitor's would be (`RuleProbe`, the same
    /// evaluation as `canopy-rules-test.yml`), on the blocking pool (the probe may read the store).
    func failingHealthPath(_ deploymentID: String, paths: [String]) async throws -> String? {
        guard !paths.isEmpty else { return nil }
        let probe = RuleProbe(try await servedDeployment(deploymentID))
        let statuses = try await blocking.run {
            paths.map {
                probe.answer(RuleProbeRequest(method: "HEAD", target: $0, host: "probe.canopy.internal")).status
            }
        }
        for (path, status) in zip(paths, statuses) where !(200..<400).contains(status) {
            return "\(path) answered \(status)"
        }
        return nil
    }

    // MARK: Operator control

    /// `status`, `pause`, `resume`, `promote` or `abort` on the rollout of a hostname's (or `site/branch`'s) branch.
    func rolloutCommand(_ name: String, action: String, actor: String) async throws -> RolloutRecord {
        let key = try await environmentKey(for: name)
        let r = try await rolloutController.command(action, on: key, actor: actor)
        guard action != "status" else { return r }
        try await publishRoutes(changed: [key.site])
        emit(.rolloutChanged(r))
        log(r)
        return r
    }
}
