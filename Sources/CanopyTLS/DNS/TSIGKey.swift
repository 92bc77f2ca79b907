import Crypto
import Foundation

/// A TSIG key (RFC 8945): a name shared with the server, an HMAC algorithm and a secret.
public struct TSIGKey: Sendable, Hashable {
    /// HMAC algorithms, by their TSIG algorithm names.
    public enum Algorithm: String, Sendable, Hashable, CaseIterable {
        case hmacSHA256 = "hmac-sha256"
        case hmacSHA384 = "hmac-sha384"
        case hmacSHA512 = "hmac-sha512"

        /// Parses `hmac-sha256` (any case, an optional trailing dot).
        public init?(name: String) {
            self.init(rawValue: DNSMessage.normalise(name))
        }
    }

    /// The key name, as the server's `key "<name>"` statement spells it.
    public var name: String
    /// The algorithm.
    public var algorithm: Algorithm
    /// The secret bytes.
    public var secret: [UInt8]

    /// Creates a key from raw secret bytes.
    public init(name: String, algorithm: Algorithm, secret: [UInt8]) {
        self.name = DNSMessage.normalise(name)
        self.algorithm = algorithm
        self.secret = secret
    }

    /// Creates a key from the base64 secret a `tsig-keygen` key statement holds.
    public init(name: String, algorithm: String, base64Secret: String) throws {
        guard let parsed = Algorithm(name: algorithm) else {
            let known = Algorithm.allCases.map(\.rawValue).joined(separator: ", ")
            throw DNSError.configuration("unknown TSIG keyAlgorithm '\(algorithm)' (use one of \(known))")
        }
        guard let bytes = Data(base64Encoded: base64Secret.trimmingCharacters(in: .whitespaces)), !bytes.isEmpty else {
            throw DNSError.configuration("the TSIG keySecret for key \(name) is not base64 (copy it from tsig-keygen)")
        }
        self.init(name: name, algorithm: parsed, secret: [UInt8](bytes))
    }

    /// The HMAC of `data` with this key.
    func mac(_ data: [UInt8]) -> [UInt8] {
        let key = SymmetricKey(data: secret)
        switch algorithm {
        case .hmacSHA256: return [UInt8](HMAC<SHA256>.authenticationCode(for: data, using: key))
        case .hmacSHA384: return [UInt8](HMAC<SHA384>.authenticationCode(for: data, using: key))
        case .hmacSHA512: return [UInt8](HMAC<SHA512>.authenticationCode(for: data, using: key))
        }
    }
}
