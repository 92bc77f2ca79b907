import Crypto
import Foundation

/// An ACME account key: ECDSA P-256, signing requests as JWS with `alg: ES256` (RFC 7518 §3.4).
public struct ACMEAccountKey: Sendable {
    /// The private key's raw scalar; `P256.Signing.PrivateKey` itself is not `Sendable`.
    let rawKey: Data

    /// The private key.
    public var privateKey: P256.Signing.PrivateKey {
        // The bytes came from a valid key, so parsing them again cannot fail.
        try! P256.Signing.PrivateKey(rawRepresentation: rawKey)
    }

    /// Wraps an existing key.
    public init(_ privateKey: P256.Signing.PrivateKey) {
        self.rawKey = privateKey.rawRepresentation
    }

    /// Generates a new random key.
    public static func generate() -> ACMEAccountKey {
        ACMEAccountKey(P256.Signing.PrivateKey())
    }

    /// Reads a PEM private key (PKCS#8 or SEC1), as written by ``pemRepresentation``.
    public init(pemRepresentation: String) throws {
        self.rawKey = try P256.Signing.PrivateKey(pemRepresentation: pemRepresentation).rawRepresentation
    }

    /// The key as PKCS#8 PEM, for storing in the data folder (mode 0600).
    public var pemRepresentation: String { privateKey.pemRepresentation }

    /// The public key as a JWK (RFC 7517) with members in lexicographic order, as RFC 7638 requires for
    /// the thumbprint.
    public var jwkJSON: String {
        let point = privateKey.publicKey.x963Representation  // 0x04 || X || Y
        let x = Base64URL.encode(point.dropFirst().prefix(32))
        let y = Base64URL.encode(point.dropFirst(33))
        return #"{"crv":"P-256","kty":"EC","x":"\#(x)","y":"\#(y)"}"#
    }

    /// The JWK thumbprint (RFC 7638), base64url of SHA-256 over ``jwkJSON``.
    public var thumbprint: String {
        Base64URL.encode(SHA256.hash(data: Data(jwkJSON.utf8)))
    }

    /// The key authorization for a challenge token (RFC 8555 §8.1): `token.thumbprint`.
    public func keyAuthorization(token: String) -> String {
        token + "." + thumbprint
    }

    /// Signs a flattened JWS (RFC 7515 §7.2.2) over `protectedHeader` and `payload`, both already JSON.
    /// An empty `payload` is the POST-as-GET of RFC 8555 §6.3.
    func signedBody(protectedHeader: String, payload: Data) throws -> Data {
        let protected64 = Base64URL.encode(Data(protectedHeader.utf8))
        let payload64 = payload.isEmpty ? "" : Base64URL.encode(payload)
        let signature = try privateKey.signature(for: Data("\(protected64).\(payload64)".utf8))
        let body =
            #"{"protected":"\#(protected64)","payload":"\#(payload64)","signature":"\#(Base64URL.encode(signature.rawRepresentation))"}"#
        return Data(body.utf8)
    }

    /// The protected header: `jwk` before the account exists, `kid` (the account URL) after.
    static func protectedHeader(url: String, nonce: String, keyID: String?, jwk: String) -> String {
        let identity = keyID.map { #""kid":\#(jsonString($0))"# } ?? #""jwk":\#(jwk)"#
        return #"{"alg":"ES256",\#(identity),"nonce":\#(jsonString(nonce)),"url":\#(jsonString(url))}"#
    }

    /// A JSON string literal for `text`.
    static func jsonString(_ text: String) -> String {
        let data = try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])
        let array = data.flatMap { String(data: $0, encoding: .utf8) } ?? "[\"\"]"
        return String(array.dropFirst().dropLast())
    }
}
