/// Compares two secrets (tokens, passwords) in time that depends only on their lengths, never on
/// where they first differ. The one comparison for secrets: the edge's basic auth and the admin API's
/// tokens both use it.
@inlinable
public func constantTimeEqual<A: Collection<UInt8>, B: Collection<UInt8>>(_ a: A, _ b: B) -> Bool {
    var difference = UInt8(a.count == b.count ? 0 : 1)
    var left = a.makeIterator()
    var right = b.makeIterator()
    for _ in 0..<max(a.count, b.count) {
        difference |= (left.next() ?? 0) ^ (right.next() ?? 0)
    }
    return difference == 0
}

/// Compares two secrets' UTF-8 bytes in time that depends only on their lengths.
@inlinable
public func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    constantTimeEqual(a.utf8, b.utf8)
}
