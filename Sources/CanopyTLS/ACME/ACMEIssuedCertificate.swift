import Foundation
import SwiftASN1
import X509

/// A certificate an ACME server issued: the chain as served (leaf first) and its private key.
public struct ACMEIssuedCertificate: Sendable {
    /// The names asked for, in order.
    public var names: [String]
    /// The chain as PEM, leaf first, exactly as downloaded.
    public var chainPEM: String
    /// The certificate's private key as PKCS#8 PEM (store with mode 0600).
    public var privateKeyPEM: String
    /// The parsed chain, leaf first.
    public var chain: [Certificate]
    /// The order URL.
    public var orderURL: String
    /// The certificate URL.
    public var certificateURL: String

    /// The leaf.
    public var leaf: Certificate { chain[0] }
    /// The leaf's start of validity.
    public var notBefore: Date { leaf.notValidBefore }
    /// The leaf's end of validity.
    public var notAfter: Date { leaf.notValidAfter }

    /// Parses a PEM chain (leaf first).
    public static func parseChain(_ pem: String) throws -> [Certificate] {
        try PEMDocument.parseMultiple(pemString: pem).map { try Certificate(derEncoded: $0.derBytes) }
    }
}
