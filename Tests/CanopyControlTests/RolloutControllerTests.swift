import CanopyEdge
import CanopySpec
import CanopyStore
import Foundation
import Testing

@testable import CanopyControl

/// Rollout arithmetic and operator actions, pure: no edge, no store.
struct RolloutControllerTests {
    let start = Date(timeIntervalSince1970: 2_000_000)

    func rollout(from: String? = "d1", status: RolloutRecord.Status = .checking, percent: Int = 0) -> RolloutRecord {
        RolloutRecord(
            site: "s", branch: "main", fromDeployment: from, toDeployment: "d2", strategy: "", percent: percent,
            status: status, startedAt: start, nextStepAt: start)
    }

    func step(
        _ r: RolloutRecord, _ strategy: RolloutStrategy, at now: Date, traffic: DeploymentTrafficStats = .init(),
        baseline: DeploymentTrafficStats = .init(), health: String? = nil, maxErrorRate: Double = 0.05
    ) -> RolloutRecord? {
        RolloutController.step(
            r, settings: EnvironmentSettings(rollout: strategy, maxErrorRate: maxErrorRate), now: now,
            traffic: traffic, baseline: baseline, healthFailure: health)
    }

    @Test func aCanaryTakesItsShareThenAllAfterItsInterval() throws {
        let canary = RolloutStrategy.canary(percent: 10, seconds: 300)
        let first = try #require(step(rollout(), canary, at: start))
        #expect(first.status == .running)
        #expect(first.percent == 10)
        #expect(first.nextStepAt == start.addingTimeInterval(300))
        // Not due yet: nothing changes.
        #expect(step(first, canary, at: start.addingTimeInterval(299)) == nil)
        let done = try #require(step(first, canary, at: start.addingTimeInterval(300)))
        #expect(done.status == .completed)
        #expect(done.percent == 100)
        #expect(done.nextStepAt == nil)
    }

    @Test func aLinearRolloutAddsItsStepUntilAll() throws {
        let linear = RolloutStrategy.linear(percent: 30, seconds: 60)
        var r = try #require(step(rollout(), linear, at: start))
        var shares = [r.percent]
        var now = start
        while r.status == .running {
            now += 60
            r = try #require(step(r, linear, at: now))
            shares.append(r.percent)
        }
        #expect(shares == [30, 60, 90, 100])
        #expect(r.status == .completed)
        #expect(RolloutSchedule.nextShare(.linear(percent: 0, seconds: 1), current: 5) == 6)
    }

    @Test func aFirstDeploymentTakesAllTrafficOnceHealthy() throws {
        let r = try #require(step(rollout(from: nil), .canary(percent: 10, seconds: 300), at: start))
        #expect(r.status == .completed)
        #expect(r.percent == 100)
    }

    @Test func aFailingHealthGateRollsBackBeforeAnyTraffic() throws {
        let r = try #require(
            step(rollout(), .canary(percent: 10, seconds: 300), at: start, health: "/healthz answered 500"))
        #expect(r.status == .rolledBack)
        #expect(r.percent == 0)
        #expect(r.message?.contains("/healthz answered 500") == true)
    }

    @Test func theErrorRateCountsFromTheBaselineAndNeedsEnoughRequests() throws {
        let running = rollout(status: .running, percent: 10)
        let later = start.addingTimeInterval(1)
        var rollout = running
        rollout.nextStepAt = start.addingTimeInterval(300)
        let strategy = RolloutStrategy.canary(percent: 10, seconds: 300)
        // 6 errors in 25 requests: 24% > 5%.
        let bad = try #require(
            step(rollout, strategy, at: later, traffic: .init(requests: 25, serverErrors: 4, notFound: 2)))
        #expect(bad.status == .rolledBack)
        #expect(bad.message?.contains("6 of 25") == true)
        // All errors, but fewer than 20 requests: too few to judge.
        #expect(step(rollout, strategy, at: later, traffic: .init(requests: 19, serverErrors: 19)) == nil)
        // Errors from before the rollout began do not count.
        #expect(
            step(
                rollout, strategy, at: later, traffic: .init(requests: 100, serverErrors: 50),
                baseline: .init(requests: 70, serverErrors: 50)) == nil)
    }

    @Test func healthIsCheckedBeforeTrafficAndWhenAStepIsDue() throws {
        var r = rollout(status: .running, percent: 10)
        r.nextStepAt = start.addingTimeInterval(300)
        #expect(RolloutController.healthCheckDue(rollout(), now: start))
        #expect(!RolloutController.healthCheckDue(r, now: start))
        #expect(RolloutController.healthCheckDue(r, now: start.addingTimeInterval(300)))
        let failed = step(
            r, .canary(percent: 10, seconds: 300), at: start.addingTimeInterval(300), health: "/ answered 503")
        #expect(failed?.status == .rolledBack)
        #expect(failed?.message?.contains("during the rollout") == true)
    }

    @Test func operatorsPauseResumePromoteAndAbort() throws {
        let running = rollout(status: .running, percent: 10)
        let paused = try RolloutController.apply(.pause, to: running, actor: "ops", now: start)
        #expect(paused.status == .paused)
        #expect(paused.nextStepAt == nil)
        let resumed = try RolloutController.apply(.resume, to: paused, actor: "ops", now: start)
        #expect(resumed.status == .running)
        #expect(resumed.nextStepAt == start)
        let promoted = try RolloutController.apply(.promote, to: running, actor: "ops")
        #expect(promoted.status == .completed)
        #expect(promoted.percent == 100)
        #expect(try RolloutController.apply(.abort, to: running, actor: "ops").status == .aborted)
        #expect(throws: TrafficError.self) { try RolloutController.apply(.pause, to: promoted, actor: "ops") }
    }
}
