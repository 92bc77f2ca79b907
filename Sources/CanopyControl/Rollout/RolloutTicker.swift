import Logging
import ServiceLifecycle

/// The rollout controller's clock in the service group: rollout steps, health gates and error-rate
/// checks every `interval` (twice a second), and retention every `retentionEvery` ticks (each
/// minute). Graceful shutdown ends the loop between ticks: a tick under way finishes rather than
/// being cancelled (GRDB refuses a cancelled task's writes); the group's deadline cancels it.
struct RolloutTicker: Service {
    let orchestrator: Orchestrator
    let logger: Logger
    var interval: Duration = .milliseconds(500)
    var retentionEvery = 120

    func run() async {
        var ticks = 0
        repeat {
            await orchestrator.tickRollouts()
            if ticks % retentionEvery == 0 {
                do {
                    try await orchestrator.applyRetention()
                } catch {
                    logger.error("retention failed: \(error)")
                }
            }
            ticks += 1
        } while await pauseUnlessShuttingDown(for: interval)
    }
}
