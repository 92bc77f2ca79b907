/// A traffic action refused, with what to do instead.
public struct TrafficError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public var isNotFound: Bool

    init(_ description: String, notFound: Bool = false) {
        self.description = description
        self.isNotFound = notFound
    }
}
