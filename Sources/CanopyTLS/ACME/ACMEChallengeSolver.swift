import Foundation

/// What a solver needs to answer one challenge.
public struct ACMEChallengeContext: Sendable, Hashable {
    /// The name being validated, without any `*.` (the authorization's identifier).
    public var domain: String
    /// Whether the order asked for `*.domain`.
    public var wildcard: Bool
    /// `http-01`, `tls-alpn-01` or `dns-01`.
    public var type: String
    /// The challenge token.
    public var token: String
    /// `token.thumbprint` (RFC 8555 §8.1).
    public var keyAuthorization: String

    /// Creates a context.
    public init(domain: String, wildcard: Bool, type: String, token: String, keyAuthorization: String) {
        self.domain = domain
        self.wildcard = wildcard
        self.type = type
        self.token = token
        self.keyAuthorization = keyAuthorization
    }
}

/// Makes one kind of challenge answerable (`present`) and takes it down again (`cleanup`).
public protocol ACMEChallengeSolver: Sendable {
    /// The challenge type this solver answers, e.g. `http-01`.
    var challengeType: String { get }
    /// Whether this solver can answer for the name (HTTP-01 and TLS-ALPN-01 cannot for wildcards).
    func canSolve(domain: String, wildcard: Bool) -> Bool
    /// Publishes the answer; returns when the server may look.
    func present(_ challenge: ACMEChallengeContext) async throws
    /// Removes the answer; called whether validation succeeded or not.
    func cleanup(_ challenge: ACMEChallengeContext) async throws
}

/// HTTP-01 (RFC 8555 §8.3): the key authorization served at
/// `http://<domain>/.well-known/acme-challenge/<token>` on port 80. The solver hands token and key
/// authorization to `publish` (the edge's token map) and `nil` to remove them.
public struct HTTP01Solver: ACMEChallengeSolver {
    /// Sets (`keyAuthorization`) or removes (`nil`) the answer for a token.
    public let publish: @Sendable (_ token: String, _ keyAuthorization: String?) async throws -> Void

    /// Creates a solver that publishes through the closure.
    public init(publish: @escaping @Sendable (_ token: String, _ keyAuthorization: String?) async throws -> Void) {
        self.publish = publish
    }

    public var challengeType: String { "http-01" }

    public func canSolve(domain: String, wildcard: Bool) -> Bool { !wildcard }

    public func present(_ challenge: ACMEChallengeContext) async throws {
        try await publish(challenge.token, challenge.keyAuthorization)
    }

    public func cleanup(_ challenge: ACMEChallengeContext) async throws {
        try await publish(challenge.token, nil)
    }

    /// The path the server requests, for the edge: `/.well-known/acme-challenge/<token>`.
    public static func path(token: String) -> String { "/.well-known/acme-challenge/" + token }
}
