import Atomics
import NIOConcurrencyHelpers

/// Requests, bytes and status classes of one deployment, or of one (hostname, deployment) pair:
/// lock-free counters the request path increments and the control plane reads.
public final class TrafficCounters: Sendable {
    let requests = ManagedAtomic<Int>(0)
    let bytes = ManagedAtomic<Int>(0)
    let success = ManagedAtomic<Int>(0)
    let redirects = ManagedAtomic<Int>(0)
    let clientErrors = ManagedAtomic<Int>(0)
    let notFound = ManagedAtomic<Int>(0)
    let serverErrors = ManagedAtomic<Int>(0)

    init() {}

    @inline(__always)
    func record(status: Int, bytes count: Int) {
        requests.wrappingIncrement(ordering: .relaxed)
        bytes.wrappingIncrement(by: count, ordering: .relaxed)
        switch status {
        case 200..<300: success.wrappingIncrement(ordering: .relaxed)
        case 300..<400: redirects.wrappingIncrement(ordering: .relaxed)
        case 404:
            notFound.wrappingIncrement(ordering: .relaxed)
            clientErrors.wrappingIncrement(ordering: .relaxed)
        case 400..<500: clientErrors.wrappingIncrement(ordering: .relaxed)
        default: serverErrors.wrappingIncrement(ordering: .relaxed)
        }
    }
}

/// A deployment's traffic so far (for rollout error rates).
public struct DeploymentTrafficStats: Sendable, Hashable {
    public var requests: Int = 0
    public var serverErrors: Int = 0
    public var notFound: Int = 0

    public init(requests: Int = 0, serverErrors: Int = 0, notFound: Int = 0) {
        self.requests = requests
        self.serverErrors = serverErrors
        self.notFound = notFound
    }
}

/// Which counter: hostname, deployment and status class (`2xx` … `5xx`).
public struct EdgeCounterKey: Sendable, Hashable {
    public var host: String
    public var deployment: String
    public var statusClass: String
}

public struct EdgeCounterValues: Sendable, Hashable {
    public var requests: Int = 0
    public var bytes: Int = 0

    public init(requests: Int = 0, bytes: Int = 0) {
        self.requests = requests
        self.bytes = bytes
    }
}

/// Request latency in fixed buckets (seconds), lock-free.
public final class LatencyHistogram: Sendable {
    public static let bounds: [Double] = [
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
    ]
    let buckets = (0...bounds.count).map { _ in ManagedAtomic<Int>(0) }
    let count = ManagedAtomic<Int>(0)
    let sumNanoseconds = ManagedAtomic<Int>(0)

    @inline(__always)
    func record(nanoseconds: Int) {
        let seconds = Double(nanoseconds) / 1e9
        var index = Self.bounds.count
        for (i, bound) in Self.bounds.enumerated() where seconds <= bound {
            index = i
            break
        }
        buckets[index].wrappingIncrement(ordering: .relaxed)
        count.wrappingIncrement(ordering: .relaxed)
        sumNanoseconds.wrappingIncrement(by: nanoseconds, ordering: .relaxed)
    }

    public struct Snapshot: Sendable {
        /// (upper bound in seconds, count in that bucket only), without the +Inf bucket.
        public var buckets: [(Double, UInt64)]
        public var count: UInt64
        public var sumSeconds: Double
    }

    func snapshot() -> Snapshot {
        Snapshot(
            buckets: Self.bounds.enumerated().map { ($1, UInt64(buckets[$0].load(ordering: .relaxed))) },
            count: UInt64(count.load(ordering: .relaxed)),
            sumSeconds: Double(sumNanoseconds.load(ordering: .relaxed)) / 1e9)
    }
}
