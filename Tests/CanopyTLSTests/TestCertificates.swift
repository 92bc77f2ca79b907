import Crypto
import Foundation
import X509

/// Certificates made at test time: a CA, and leaves it signs (valid, expired, not yet valid, for
/// other names), each with its own P-256 key.
struct TestCA {
    let key: P256.Signing.PrivateKey
    let certificate: Certificate
    let name: DistinguishedName

    init(commonName: String = "Canopy Test CA") throws {
        key = P256.Signing.PrivateKey()
        name = try DistinguishedName { CommonName(commonName) }
        let now = Date()
        certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 86400 * 365, issuer: name, subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(key))
    }

    var pem: String { (try? certificate.serializeAsPEM().pemString) ?? "" }

    /// A leaf for `names`, valid from `notBefore` to `notAfter` (relative to now, in seconds).
    func leaf(
        _ names: [String], notBefore: TimeInterval = -3600, notAfter: TimeInterval = 86400 * 30
    ) throws -> TestLeaf {
        let key = P256.Signing.PrivateKey()
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now + notBefore, notValidAfter: now + notAfter, issuer: name,
            subject: try DistinguishedName { CommonName(names.first ?? "leaf") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                SubjectAlternativeNames(names.map { .dnsName($0) })
            },
            issuerPrivateKey: .init(self.key))
        return TestLeaf(key: key, certificate: certificate, ca: self)
    }
}

struct TestLeaf {
    let key: P256.Signing.PrivateKey
    let certificate: Certificate
    let ca: TestCA

    var certificatePEM: String { (try? certificate.serializeAsPEM().pemString) ?? "" }
    /// Leaf then CA, as a server sends it.
    var chainPEM: String { certificatePEM + "\n" + ca.pem + "\n" }
    var keyPEM: String { key.pemRepresentation }
}

/// A temporary folder, removed when the value goes.
final class TemporaryFolder {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "canopy-tls-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) -> String {
        let file = path + "/" + name
        FileManager.default.createFile(atPath: file, contents: Data(text.utf8))
        return file
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
