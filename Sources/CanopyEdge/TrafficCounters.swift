import Atomics
import NIOConcurrencyHelpers

/// Requests, bytes and status classes of one (hostname, deployment) pair: counters the request
/// path increments and the control plane reads. Each event loop has its own lane, written only by
/// that loop (a plain load and store, no locked instruction, no cache line shared between cores);
/// readers sum the lanes.
public final class TrafficCounters: Sendable {
    final class Lane: Sendable {
        let requests = ManagedAtomic<Int>(0)
        let bytes = ManagedAtomic<Int>(0)
        let success = ManagedAtomic<Int>(0)
        let redirects = ManagedAtomic<Int>(0)
        let clientErrors = ManagedAtomic<Int>(0)
        let notFound = ManagedAtomic<Int>(0)
        let serverErrors = ManagedAtomic<Int>(0)
        // Written by no one: keeps the next lane's counters off this lane's last cache line.
        let padding = (ManagedAtomic<Int>(0), ManagedAtomic<Int>(0))
    }

    let lanes: [Lane]

    init(lanes: Int) {
        self.lanes = (0..<max(1, lanes)).map { _ in Lane() }
    }

    /// Called only from the event loop that owns `lane`.
    @inline(__always)
    func record(status: Int, bytes count: Int, lane index: Int) {
        let lane = lanes[index % lanes.count]
        lane.requests.ownerAdd(1)
        lane.bytes.ownerAdd(count)
        switch status {
        case 200..<300: lane.success.ownerAdd(1)
        case 300..<400: lane.redirects.ownerAdd(1)
        case 404:
            lane.notFound.ownerAdd(1)
            lane.clientErrors.ownerAdd(1)
        case 400..<500: lane.clientErrors.ownerAdd(1)
        default: lane.serverErrors.ownerAdd(1)
        }
    }

    func total(_ counter: KeyPath<Lane, ManagedAtomic<Int>>) -> Int {
        lanes.reduce(0) { $0 + $1[keyPath: counter].load(ordering: .relaxed) }
    }
}

extension ManagedAtomic where Value == Int {
    /// `+= n` for a counter only one thread writes: a relaxed load and store, which other threads
    /// may read at any time but which never races with another writer.
    @inline(__always)
    func ownerAdd(_ n: Int) {
        store(load(ordering: .relaxed) &+ n, ordering: .relaxed)
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

/// Request latency in fixed buckets (seconds), one lane per event loop like TrafficCounters.
public final class LatencyHistogram: Sendable {
    public static let bounds: [Double] = [
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
    ]
    /// The bounds in nanoseconds, for the request path.
    static let nanosecondBounds: [Int] = bounds.map { Int($0 * 1e9) }

    final class Lane: Sendable {
        let buckets = (0...LatencyHistogram.bounds.count).map { _ in ManagedAtomic<Int>(0) }
        let count = ManagedAtomic<Int>(0)
        let sumNanoseconds = ManagedAtomic<Int>(0)
        let padding = (ManagedAtomic<Int>(0), ManagedAtomic<Int>(0))
    }

    let lanes: [Lane]

    init(lanes: Int) {
        self.lanes = (0..<max(1, lanes)).map { _ in Lane() }
    }

    /// Called only from the event loop that owns `lane`.
    @inline(__always)
    func record(nanoseconds: Int, lane index: Int) {
        let lane = lanes[index % lanes.count]
        var bucket = Self.nanosecondBounds.count
        for (i, bound) in Self.nanosecondBounds.enumerated() where nanoseconds <= bound {
            bucket = i
            break
        }
        lane.buckets[bucket].ownerAdd(1)
        lane.count.ownerAdd(1)
        lane.sumNanoseconds.ownerAdd(nanoseconds)
    }

    public struct Snapshot: Sendable {
        /// (upper bound in seconds, count in that bucket only), without the +Inf bucket.
        public var buckets: [(Double, UInt64)]
        public var count: UInt64
        public var sumSeconds: Double
    }

    func snapshot() -> Snapshot {
        func sum(_ read: (Lane) -> Int) -> Int { lanes.reduce(0) { $0 + read($1) } }
        return Snapshot(
            buckets: Self.bounds.enumerated().map { i, bound in
                (bound, UInt64(sum { $0.buckets[i].load(ordering: .relaxed) }))
            },
            count: UInt64(sum { $0.count.load(ordering: .relaxed) }),
            sumSeconds: Double(sum { $0.sumNanoseconds.load(ordering: .relaxed) }) / 1e9)
    }
}
