import NIOCore

/// A connection the edge may close when it runs out of connections while the connection is idle.
protocol DrainableConnection: AnyObject {
    /// Nanoseconds since the connection last did anything, if it is idle now (no request under
    /// way, nothing unsent); nil when it is busy.
    func idleTime(now: Int) -> Int?
    /// Closes the connection (it was idle).
    func drain()
}

/// The connections of one event loop, so that at the connection limit the longest-idle ones are
/// closed to let new visitors in, instead of refusing them: nginx's reusable connections, of which
/// it closes up to 32 when its worker connections run out. 20,000 idle connections held open by
/// one client would otherwise keep every new visitor out for the idle timeout. Touched only on its
/// event loop, when a connection opens or closes, and when the limit is hit.
final class LaneConnections {
    private var members: [ObjectIdentifier: any DrainableConnection] = [:]
    /// When a drain last found nothing idle: the next is not tried within `retryAfter`.
    private var emptySince = 0

    /// Connections idle for less than this are never closed (one just accepted is about to send).
    static let minimumIdle = 250_000_000
    static let retryAfter = 100_000_000
    static let batch = 32

    func add(_ connection: any DrainableConnection) { members[ObjectIdentifier(connection)] = connection }
    func remove(_ connection: any DrainableConnection) { members[ObjectIdentifier(connection)] = nil }

    var count: Int { members.count }

    /// Closes up to `batch` connections idle for at least `minimumIdle`, the longest idle first;
    /// returns how many it closed.
    func drain(now: Int = DispatchTimeNanos.now()) -> Int {
        if emptySince > 0 && now - emptySince < Self.retryAfter { return 0 }
        var idle: [(time: Int, connection: any DrainableConnection)] = []
        for connection in members.values {
            if let time = connection.idleTime(now: now), time >= Self.minimumIdle { idle.append((time, connection)) }
        }
        guard !idle.isEmpty else {
            emptySince = now
            return 0
        }
        emptySince = 0
        let chosen = idle.count <= Self.batch ? idle[...] : idle.sorted { $0.time > $1.time }.prefix(Self.batch)
        for entry in chosen {
            remove(entry.connection)
            entry.connection.drain()
        }
        return chosen.count
    }
}
