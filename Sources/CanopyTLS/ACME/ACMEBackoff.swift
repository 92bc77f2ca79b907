import Foundation

/// Exponential back-off with a cap, and `Retry-After` parsing (RFC 9110 §10.2.3).
public struct ACMEBackoff: Sendable, Hashable {
    /// The first delay.
    public var initial: TimeInterval
    /// The largest delay.
    public var maximum: TimeInterval
    /// The growth factor.
    public var factor: Double

    /// Creates a back-off; the defaults suit ACME (1 min, doubling, at most 1 day).
    public init(initial: TimeInterval = 60, maximum: TimeInterval = 86_400, factor: Double = 2) {
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
    }

    /// The delay after `failures` consecutive failures (1 → `initial`), never more than `maximum`;
    /// a server's `retryAfter` wins when it is later.
    public func delay(afterFailures failures: Int, retryAfter: TimeInterval? = nil) -> TimeInterval {
        guard failures > 0 else { return max(0, retryAfter ?? 0) }
        let exponent = Double(min(failures - 1, 60))
        let computed = min(maximum, initial * pow(factor, exponent))
        return max(computed, retryAfter ?? 0)
    }

    /// Parses a `Retry-After` value: delta-seconds or an HTTP date. Nil when it is neither.
    public static func parseRetryAfter(_ value: String, now: Date) -> Date? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(trimmed), seconds >= 0 { return now.addingTimeInterval(TimeInterval(seconds)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: trimmed)
    }
}
