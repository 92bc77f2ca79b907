import CanopyStore
import Foundation
import Metrics

/// Build counters and durations through swift-metrics (exported by the Prometheus factory that
/// `canopy serve` bootstraps; a no-op elsewhere).
enum BuildMetrics {
    static func record(_ event: ControlEvent) {
        guard case .buildFinished(let build) = event else { return }
        Counter(label: "canopy_builds_total", dimensions: [("site", build.site), ("status", build.status.rawValue)])
            .increment()
        if let started = build.startedAt, let finished = build.finishedAt {
            Metrics.Timer(
                label: "canopy_build_duration_seconds", dimensions: [("site", build.site)],
                preferredDisplayUnit: .seconds
            )
            .recordNanoseconds(Int64(finished.timeIntervalSince(started) * 1e9))
        }
    }
}
