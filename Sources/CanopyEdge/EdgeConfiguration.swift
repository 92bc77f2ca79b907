/// Where and how the edge listens.
public struct EdgeConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Event loops (one per core by default).
    public var eventLoopThreads: Int
    /// The deployment store's root (blobs live under it).
    public var storeRoot: String
    /// Where the access log goes (a file, or `-` for standard output); nil for none.
    public var accessLog: String?

    public init(host: String, port: Int, eventLoopThreads: Int, storeRoot: String, accessLog: String? = nil) {
        self.accessLog = accessLog
        self.host = host
        self.port = port
        self.eventLoopThreads = max(1, eventLoopThreads)
        self.storeRoot = storeRoot
    }
}
