import CanopyEdge
import CanopySpec
import Foundation

/// A rollout's arithmetic, pure: the share a new deployment gets at each step, when the next step is
/// due, and when its error rate calls for a rollback.
enum RolloutSchedule {
    /// Fewer requests than this say nothing about an error rate.
    static let minimumRequestsForErrorRate = 20

    /// Whether a new deployment of this environment goes through a rollout (health gates, a canary
    /// or linear schedule) rather than straight to all traffic.
    static func needsRollout(_ settings: EnvironmentSettings) -> Bool {
        settings.rollout != .allAtOnce || !settings.health.isEmpty
    }

    /// The new deployment's share once its health gate passes: all of it when there is nothing to
    /// share with (a first deployment) or no schedule.
    static func firstShare(_ strategy: RolloutStrategy, hasBaseline: Bool) -> Int {
        guard hasBaseline else { return 100 }
        switch strategy {
        case .allAtOnce: return 100
        case .canary(let percent, _), .linear(let percent, _): return max(1, min(100, percent))
        }
    }

    /// The share after `current` at the next step (capped at 100): a canary jumps to all, a linear
    /// rollout adds its step.
    static func nextShare(_ strategy: RolloutStrategy, current: Int) -> Int {
        switch strategy {
        case .allAtOnce, .canary: return 100
        case .linear(let percent, _): return min(100, current + max(1, percent))
        }
    }

    /// Seconds between steps (at least 1 for a schedule).
    static func interval(_ strategy: RolloutStrategy) -> Int {
        switch strategy {
        case .allAtOnce: return 0
        case .canary(_, let seconds), .linear(_, let seconds): return max(1, seconds)
        }
    }

    /// Why the new deployment's traffic since the rollout began (5xx and 404 answers) calls for a
    /// rollback; nil while it is within `maxErrorRate` or too little traffic to judge.
    static func errorRateFailure(
        current: DeploymentTrafficStats, baseline: DeploymentTrafficStats, maxErrorRate: Double
    ) -> String? {
        let requests = current.requests - baseline.requests
        let errors = (current.serverErrors - baseline.serverErrors) + (current.notFound - baseline.notFound)
        guard requests >= minimumRequestsForErrorRate, Double(errors) / Double(requests) > maxErrorRate else {
            return nil
        }
        return String(
            format: "error rate %.1f%% (%d of %d requests answered 5xx or 404) exceeded %.1f%%",
            100 * Double(errors) / Double(requests), errors, requests, 100 * maxErrorRate)
    }
}
