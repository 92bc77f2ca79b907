import Foundation

/// Decides, with no I/O, when a hostname's certificate should be ordered or renewed, and when to
/// hold back: renewal at two thirds of the lifetime (or inside the CA's ARI window), exponential
/// back-off after failures, the CA's `Retry-After`, and the CA's rate limits (Let's Encrypt: 5
/// failed validations per hostname per hour, 300 new orders per account per 3 hours).
///
/// Design of the certificate manager that uses it (one actor, a `Service` in the server's group):
/// - The wanted set comes from the Sites files only (explicit domains; one `*.preview…` wildcard
///   per preview pattern); SNI never triggers an order, so nobody can spend the account's limits.
/// - Per hostname it keeps the ``History`` (failures since the last success, with the CA's problem
///   and `Retry-After`) and the account's recent orders, persisted beside the certificates, asks
///   ``decide(hostname:certificate:history:now:)``, and sleeps until the earliest date it returns.
/// - An order runs off the edge's path; the new chain and key are written durably (0600) and then
///   swapped into the CertificateSet atomically, so the old certificate serves until then.
/// - `canopy certs` shows the decision's reason and date as the hostname's state and next attempt.
public struct RenewalPolicy: Sendable, Hashable {
    /// The share of the lifetime after which renewal starts.
    public var renewalFraction: Double = 2.0 / 3.0
    /// The back-off after consecutive failures.
    public var backoff = ACMEBackoff(initial: 60, maximum: 6 * 3600, factor: 2)
    /// Failed validations allowed per hostname per ``validationWindow``.
    public var failedValidationLimit = 5
    /// The window of ``failedValidationLimit``.
    public var validationWindow: TimeInterval = 3600
    /// New orders allowed per account per ``orderWindow``.
    public var orderLimit = 300
    /// The window of ``orderLimit``.
    public var orderWindow: TimeInterval = 3 * 3600

    /// Creates the default policy (Let's Encrypt's limits).
    public init() {}

    /// The certificate a hostname has now.
    public struct Certificate: Sendable, Hashable {
        /// Start of validity.
        public var notBefore: Date
        /// End of validity.
        public var notAfter: Date
        /// The CA's suggested renewal window (ARI), when it gave one.
        public var suggestedWindow: ClosedRange<Date>?

        /// Creates a certificate's dates.
        public init(notBefore: Date, notAfter: Date, suggestedWindow: ClosedRange<Date>? = nil) {
            self.notBefore = notBefore
            self.notAfter = notAfter
            self.suggestedWindow = suggestedWindow
        }
    }

    /// One failed attempt.
    public struct Failure: Sendable, Hashable, Codable {
        /// When it happened.
        public var date: Date
        /// Whether the CA counted it as a failed validation (a challenge that did not pass).
        public var isValidationFailure: Bool
        /// The CA's `Retry-After`, if it sent one.
        public var retryAfter: Date?

        /// Creates a failure.
        public init(date: Date, isValidationFailure: Bool, retryAfter: Date? = nil) {
            self.date = date
            self.isValidationFailure = isValidationFailure
            self.retryAfter = retryAfter
        }
    }

    /// What the manager remembers.
    public struct History: Sendable, Hashable {
        /// This hostname's failures since its last successful order.
        public var failures: [Failure]
        /// The account's new orders (all hostnames) in at least the last ``RenewalPolicy/orderWindow``.
        public var orders: [Date]

        /// Creates a history.
        public init(failures: [Failure] = [], orders: [Date] = []) {
            self.failures = failures
            self.orders = orders
        }
    }

    /// Why the decision is what it is.
    public enum Reason: String, Sendable, Hashable {
        case noCertificate, expired, renewalDue, notDueYet, backingOff, retryAfter, validationLimit, orderLimit
    }

    /// Order now, or not before a date.
    public enum Decision: Sendable, Hashable {
        /// Order (or renew) now.
        case orderNow(Reason)
        /// Do nothing until `date`.
        case wait(until: Date, Reason)
    }

    /// The decision for `hostname` at `now`.
    public func decide(hostname: String, certificate: Certificate?, history: History, now: Date) -> Decision {
        var candidates: [(Date, Reason)] = []
        let dueReason: Reason
        if let certificate {
            let due = renewalDate(certificate, hostname: hostname)
            dueReason = certificate.notAfter <= now ? .expired : (due <= now ? .renewalDue : .notDueYet)
            candidates.append((due, .notDueYet))
        } else {
            dueReason = .noCertificate
        }
        if let last = history.failures.max(by: { $0.date < $1.date }) {
            let delay = backoff.delay(afterFailures: history.failures.count)
            candidates.append((last.date.addingTimeInterval(delay), .backingOff))
            if let retryAfter = history.failures.compactMap(\.retryAfter).max() {
                candidates.append((retryAfter, .retryAfter))
            }
        }
        let validations = history.failures.filter { $0.isValidationFailure && $0.date > now - validationWindow }
            .map(\.date).sorted()
        if validations.count >= failedValidationLimit {
            candidates.append(
                (validations[validations.count - failedValidationLimit] + validationWindow, .validationLimit))
        }
        let orders = history.orders.filter { $0 > now - orderWindow }.sorted()
        if orders.count >= orderLimit {
            candidates.append((orders[orders.count - orderLimit] + orderWindow, .orderLimit))
        }
        guard let (latest, reason) = candidates.max(by: { $0.0 < $1.0 }), latest > now else {
            return .orderNow(dueReason == .notDueYet ? .renewalDue : dueReason)
        }
        return .wait(until: latest, reason)
    }

    /// When renewal of `certificate` is due: a point inside the ARI window (spread by hostname, so
    /// that many names do not renew at once), else two thirds into the lifetime.
    public func renewalDate(_ certificate: Certificate, hostname: String) -> Date {
        if let window = certificate.suggestedWindow {
            let spread = Double(hostname.utf8.reduce(UInt32(2_166_136_261)) { ($0 ^ UInt32($1)) &* 16_777_619 } % 1000)
            return window.lowerBound + window.upperBound.timeIntervalSince(window.lowerBound) * spread / 1000
        }
        let lifetime = certificate.notAfter.timeIntervalSince(certificate.notBefore)
        return certificate.notBefore.addingTimeInterval(lifetime * renewalFraction)
    }
}
