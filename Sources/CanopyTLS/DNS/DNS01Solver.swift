import Crypto
import Foundation

/// DNS-01 (RFC 8555 §8.4): the TXT record `_acme-challenge.<domain>` holding
/// base64url(SHA-256(keyAuthorization)), written by RFC 2136 update. Works for wildcards (the
/// record is at the base name) and follows a CNAME that delegates `_acme-challenge` to another
/// zone, writing the record where the CNAME points.
public struct DNS01Solver: ACMEChallengeSolver {
    /// The update client.
    public let client: DNSUpdateClient
    /// How long `present` waits for the server to answer with the new record.
    public var visibilityTimeout: Duration

    /// Creates a solver.
    public init(client: DNSUpdateClient, visibilityTimeout: Duration = .seconds(10)) {
        self.client = client
        self.visibilityTimeout = visibilityTimeout
    }

    public var challengeType: String { "dns-01" }

    public func canSolve(domain: String, wildcard: Bool) -> Bool { true }

    /// The TXT value for a key authorization.
    public static func txtValue(keyAuthorization: String) -> String {
        Base64URL.encode(SHA256.hash(data: Data(keyAuthorization.utf8)))
    }

    /// The name the server looks up: `_acme-challenge.<domain>`.
    public static func recordName(domain: String) -> String {
        "_acme-challenge." + DNSMessage.normalise(domain)
    }

    public func present(_ challenge: ACMEChallengeContext) async throws {
        let target = try await client.followCNAME(Self.recordName(domain: challenge.domain))
        let value = Self.txtValue(keyAuthorization: challenge.keyAuthorization)
        try await client.addTXT(name: target, value: value)
        let deadline = ContinuousClock.now + visibilityTimeout
        while try await !client.txtValues(target).contains(value) {
            guard ContinuousClock.now < deadline else {
                throw DNSError.configuration(
                    "the TXT record \(target) was added on \(client.server) but does not show in its answers")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    public func cleanup(_ challenge: ACMEChallengeContext) async throws {
        let target = try await client.followCNAME(Self.recordName(domain: challenge.domain))
        try await client.deleteTXT(name: target, value: Self.txtValue(keyAuthorization: challenge.keyAuthorization))
    }
}
