import Foundation

/// An identifier in an order: a DNS name, possibly a wildcard (`*.preview.example.com`).
public struct ACMEIdentifier: Sendable, Hashable, Codable {
    /// Always `dns` here.
    public var type: String
    /// The name.
    public var value: String

    /// A DNS identifier.
    public init(dns name: String) {
        self.type = "dns"
        self.value = name
    }
}

/// The directory resource (RFC 8555 §7.1.1).
public struct ACMEDirectory: Sendable, Codable {
    /// The new-nonce URL.
    public var newNonce: String
    /// The new-account URL.
    public var newAccount: String
    /// The new-order URL.
    public var newOrder: String
    /// The revoke-certificate URL.
    public var revokeCert: String?
    /// The key-change URL.
    public var keyChange: String?
    /// The renewal-information URL (ARI, RFC 9773), when the CA offers it.
    public var renewalInfo: String?
    /// Metadata.
    public var meta: Meta?

    /// Directory metadata.
    public struct Meta: Sendable, Codable {
        /// The terms of service the account must agree to.
        public var termsOfService: String?
        /// Whether an external account binding is required.
        public var externalAccountRequired: Bool?
    }
}

/// An order (RFC 8555 §7.1.3).
public struct ACMEOrder: Sendable, Codable {
    /// `pending`, `ready`, `processing`, `valid` or `invalid`.
    public var status: String
    /// The identifiers.
    public var identifiers: [ACMEIdentifier]
    /// The authorization URLs.
    public var authorizations: [String]
    /// The finalize URL.
    public var finalize: String
    /// The certificate URL once valid.
    public var certificate: String?
    /// The error when invalid.
    public var error: ACMEProblem?
    /// When the order expires.
    public var expires: String?
}

/// An authorization (RFC 8555 §7.1.4).
public struct ACMEAuthorization: Sendable, Codable {
    /// The identifier (for a wildcard, without `*.`, with `wildcard: true`).
    public var identifier: ACMEIdentifier
    /// `pending`, `valid`, `invalid`, `deactivated`, `expired` or `revoked`.
    public var status: String
    /// The challenges offered.
    public var challenges: [ACMEChallenge]
    /// Whether this authorization is for a wildcard name.
    public var wildcard: Bool?
}

/// A challenge (RFC 8555 §8).
public struct ACMEChallenge: Sendable, Codable {
    /// `http-01`, `dns-01`, `tls-alpn-01`.
    public var type: String
    /// The challenge URL.
    public var url: String
    /// `pending`, `processing`, `valid` or `invalid`.
    public var status: String
    /// The token.
    public var token: String?
    /// The validation error when invalid.
    public var error: ACMEProblem?
}

/// An account (RFC 8555 §7.1.2), with the URL that is its key id.
public struct ACMEAccount: Sendable {
    /// The account URL, used as `kid`.
    public var url: String
    /// `valid`, `deactivated` or `revoked`.
    public var status: String
    /// The contact URLs (`mailto:`).
    public var contact: [String]
}
