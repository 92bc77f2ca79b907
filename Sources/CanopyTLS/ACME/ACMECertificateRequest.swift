import Crypto
import Foundation
import SwiftASN1
import X509

/// Builds the PKCS#10 request a finalize call carries (RFC 8555 §7.4): every name in the
/// subjectAltName extension, the first (when it fits) as common name, signed with ECDSA P-256.
public enum ACMECertificateRequest {
    /// The DER bytes of a CSR for `names`, signed by `key`.
    public static func der(names: [String], key: Certificate.PrivateKey) throws -> [UInt8] {
        let subject: DistinguishedName
        if let first = names.first, first.utf8.count <= 64 {
            subject = try DistinguishedName { CommonName(first) }
        } else {
            subject = DistinguishedName()
        }
        let extensions = try Certificate.Extensions {
            SubjectAlternativeNames(names.map { GeneralName.dnsName($0) })
        }
        let attributes = CertificateSigningRequest.Attributes([
            try .init(ExtensionRequest(extensions: extensions))
        ])
        let request = try CertificateSigningRequest(
            version: .v1, subject: subject, privateKey: key, attributes: attributes,
            signatureAlgorithm: .ecdsaWithSHA256)
        var serializer = DER.Serializer()
        try serializer.serialize(request)
        return serializer.serializedBytes
    }
}
