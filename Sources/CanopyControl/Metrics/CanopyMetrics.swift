import CanopyAdminAPI
import CanopyEdge
import Foundation
import Metrics
import Prometheus

/// `/metrics` in Prometheus format. Builds report through swift-metrics (see `BuildMetrics`); the
/// edge keeps its own lock-free counters per hostname, deployment and status class, and they are
/// read here at scrape time, so that the request path never touches a metrics registry.
actor CanopyMetrics {
    let registry: PrometheusCollectorRegistry
    /// What the edge counters were at the last scrape, to turn totals into counter increments.
    private var last: [EdgeCounterKey: EdgeCounterValues] = [:]
    private let edge: EdgeServer

    static var requestsTotal: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "canopy", subsystem: "http", metricName: "requests", unitName: "total",
            helpText: "Requests answered by the edge, by hostname, deployment and status class.")
    }
    static var bytesTotal: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "canopy", subsystem: "http", metricName: "response_bytes", unitName: "total",
            helpText: "Bytes sent by the edge, by hostname, deployment and status class.")
    }

    init(registry: PrometheusCollectorRegistry, edge: EdgeServer) {
        self.registry = registry
        self.edge = edge
    }

    /// Installs the Prometheus factory as the process's swift-metrics backend (once per process).
    static func bootstrap(_ registry: PrometheusCollectorRegistry) {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    func exposition(orchestrator: Orchestrator) async -> String {
        for (key, value) in edge.counterSnapshot() {
            let previous = last[key] ?? EdgeCounterValues()
            let labels = [("host", key.host), ("deployment", key.deployment), ("status", key.statusClass)]
            let requests = value.requests - previous.requests
            let bytes = value.bytes - previous.bytes
            if requests > 0 || last[key] == nil {
                registry.makeCounter(descriptor: Self.requestsTotal, labels: labels).increment(by: Int64(requests))
                registry.makeCounter(descriptor: Self.bytesTotal, labels: labels).increment(by: Int64(bytes))
            }
            last[key] = value
        }
        let latency = edge.latencySnapshot()
        var text = registry.emitToString()
        text += "# TYPE canopy_http_request_duration_seconds histogram\n"
        var cumulative: UInt64 = 0
        for (bound, count) in latency.buckets {
            cumulative += count
            text += "canopy_http_request_duration_seconds_bucket{le=\"\(bound)\"} \(cumulative)\n"
        }
        text += "canopy_http_request_duration_seconds_bucket{le=\"+Inf\"} \(latency.count)\n"
        text += "canopy_http_request_duration_seconds_sum \(latency.sumSeconds)\n"
        text += "canopy_http_request_duration_seconds_count \(latency.count)\n"
        text += "# TYPE canopy_http_requests_by_protocol_total counter\n"
        for entry in edge.protocolSnapshot() {
            text +=
                "canopy_http_requests_by_protocol_total{protocol=\"\(entry.protocol)\",tls=\"\(entry.tls)\"} \(entry.requests)\n"
        }
        text += Self.bodyCacheMetrics(edge.bodyCache.stats)
        text += Self.certificateMetrics(await orchestrator.certificates.statuses())
        let queue = await orchestrator.queue.snapshot
        let rollouts = (try? await orchestrator.state.rollouts(activeOnly: true).count) ?? 0
        text += "# TYPE canopy_build_queue_length gauge\ncanopy_build_queue_length \(queue.queued)\n"
        text += "# TYPE canopy_builds_running gauge\ncanopy_builds_running \(queue.running.count)\n"
        text += "# TYPE canopy_rollouts_active gauge\ncanopy_rollouts_active \(rollouts)\n"
        return text
    }

    /// The edge's body cache: what it holds, against its budget, and how often it answered.
    static func bodyCacheMetrics(_ s: BodyCache.Stats) -> String {
        """
        # HELP canopy_body_cache_bytes File bodies the edge holds in memory, all deployments together.
        # TYPE canopy_body_cache_bytes gauge
        canopy_body_cache_bytes \(s.residentBytes)
        # TYPE canopy_body_cache_budget_bytes gauge
        canopy_body_cache_budget_bytes \(s.budget)
        # TYPE canopy_body_cache_hits_total counter
        canopy_body_cache_hits_total \(s.hits)
        # TYPE canopy_body_cache_misses_total counter
        canopy_body_cache_misses_total \(s.misses)
        # TYPE canopy_body_cache_evictions_total counter
        canopy_body_cache_evictions_total \(s.evictions)
        # TYPE canopy_open_blob_files gauge
        canopy_open_blob_files \(s.openBlobs)

        """
    }

    /// Each hostname's certificate expiry and state, as gauges.
    static func certificateMetrics(_ statuses: [CertificateStatus]) -> String {
        guard !statuses.isEmpty else { return "" }
        var text =
            "# HELP canopy_certificate_expiry_timestamp_seconds When the certificate a hostname serves expires.\n"
        text += "# TYPE canopy_certificate_expiry_timestamp_seconds gauge\n"
        for s in statuses where s.serving {
            guard let notAfter = s.notAfter else { continue }
            text +=
                "canopy_certificate_expiry_timestamp_seconds{hostname=\"\(s.hostname)\",source=\"\(s.source)\"} \(Int(notAfter.timeIntervalSince1970))\n"
        }
        text += "# HELP canopy_certificate_state A hostname's certificate state (1 for the state it is in).\n"
        text += "# TYPE canopy_certificate_state gauge\n"
        for s in statuses {
            text += "canopy_certificate_state{hostname=\"\(s.hostname)\",state=\"\(s.state)\"} 1\n"
        }
        return text
    }
}
