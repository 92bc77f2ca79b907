#if canImport(Glibc)
    import Glibc
#endif

/// The process's limit on open file descriptors (RLIMIT_NOFILE), which bounds the edge's
/// connections: every connection is one descriptor, and the store, database and builds need theirs.
public enum DescriptorLimit {
    /// Raises the soft limit to the hard one (as nginx's `worker_rlimit_nofile` would); returns
    /// the soft limit before and after.
    @discardableResult
    public static func raiseSoftToHard() -> (before: Int, after: Int) {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return (0, 0) }
        let before = Int(clamping: limit.rlim_cur)
        guard limit.rlim_cur < limit.rlim_max else { return (before, before) }
        var raised = limit
        raised.rlim_cur = limit.rlim_max
        guard setrlimit(resource, &raised) == 0 else { return (before, before) }
        return (before, Int(clamping: raised.rlim_cur))
    }

    /// The soft limit now.
    public static var current: Int {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return 1024 }
        return Int(clamping: limit.rlim_cur)
    }

    /// The edge's default connection limit: 10,000, or fewer when the descriptor limit is lower
    /// (a quarter of it is kept for the store's open files, the database, the repositories and builds).
    public static func defaultMaxConnections(descriptors: Int = current) -> Int {
        max(16, min(10_000, descriptors - max(256, descriptors / 4)))
    }

    #if canImport(Glibc)
        private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
        private static let resource = RLIMIT_NOFILE
    #endif
}
