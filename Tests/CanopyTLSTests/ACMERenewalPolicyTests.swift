import CanopyTLS
import Foundation
import Testing

/// When to order, renew and hold back.
@Suite struct ACMERenewalPolicyTests {
    let policy = RenewalPolicy()
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    let day: TimeInterval = 86_400

    var ninetyDays: RenewalPolicy.Certificate {
        .init(notBefore: start, notAfter: start + 90 * day)
    }

    @Test func noCertificateOrdersNowAndRenewalStartsAtTwoThirds() {
        #expect(
            policy.decide(hostname: "a.test", certificate: nil, history: .init(), now: start)
                == .orderNow(.noCertificate))
        #expect(
            policy.decide(hostname: "a.test", certificate: ninetyDays, history: .init(), now: start + 10 * day)
                == .wait(until: start + 60 * day, .notDueYet))
        #expect(
            policy.decide(hostname: "a.test", certificate: ninetyDays, history: .init(), now: start + 61 * day)
                == .orderNow(.renewalDue))
        #expect(
            policy.decide(hostname: "a.test", certificate: ninetyDays, history: .init(), now: start + 91 * day)
                == .orderNow(.expired))
    }

    @Test func theARIWindowWinsOverTwoThirds() {
        var certificate = ninetyDays
        certificate.suggestedWindow = (start + 30 * day)...(start + 32 * day)
        let due = policy.renewalDate(certificate, hostname: "a.test")
        #expect(due >= start + 30 * day && due <= start + 32 * day)
        #expect(
            policy.decide(hostname: "a.test", certificate: certificate, history: .init(), now: start + 33 * day)
                == .orderNow(.renewalDue))
    }

    @Test func failuresBackOffExponentiallyAndRetryAfterIsHonoured() {
        let now = start + 61 * day
        let one = RenewalPolicy.History(failures: [.init(date: now - 10, isValidationFailure: false)])
        #expect(
            policy.decide(hostname: "a.test", certificate: ninetyDays, history: one, now: now)
                == .wait(until: now - 10 + 60, .backingOff))
        let three = RenewalPolicy.History(
            failures: (1...3).map { .init(date: now - Double($0) * 10, isValidationFailure: false) })
        #expect(
            policy.decide(hostname: "a.test", certificate: nil, history: three, now: now)
                == .wait(until: now - 10 + 240, .backingOff))
        let limited = RenewalPolicy.History(failures: [
            .init(date: now - 10, isValidationFailure: false, retryAfter: now + 7200)
        ])
        #expect(
            policy.decide(hostname: "a.test", certificate: nil, history: limited, now: now)
                == .wait(until: now + 7200, .retryAfter))
        #expect(
            policy.decide(hostname: "a.test", certificate: nil, history: one, now: now + 61)
                == .orderNow(.noCertificate))
    }

    @Test func fiveFailedValidationsInAnHourWaitForTheOldestToAgeOut() {
        var relaxed = policy
        relaxed.backoff = ACMEBackoff(initial: 1, maximum: 1, factor: 1)
        let now = start
        let failures = (0..<5).map {
            RenewalPolicy.Failure(date: now - 3000 + Double($0) * 60, isValidationFailure: true)
        }
        #expect(
            relaxed.decide(hostname: "a.test", certificate: nil, history: .init(failures: failures), now: now)
                == .wait(until: now - 3000 + 3600, .validationLimit))
        let four = Array(failures.dropFirst())
        #expect(
            relaxed.decide(hostname: "a.test", certificate: nil, history: .init(failures: four), now: now)
                == .orderNow(.noCertificate))
    }

    @Test func threeHundredOrdersInThreeHoursWait() {
        let now = start
        let orders = (0..<300).map { now - 10_000 + Double($0) }
        #expect(
            policy.decide(hostname: "a.test", certificate: nil, history: .init(orders: orders), now: now)
                == .wait(until: now - 10_000 + 3 * 3600, .orderLimit))
        #expect(
            policy.decide(
                hostname: "a.test", certificate: nil, history: .init(orders: Array(orders.dropFirst())), now: now)
                == .orderNow(.noCertificate))
    }
}
