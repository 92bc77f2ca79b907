import Crypto
import Foundation
import NIOSSL
import X509

/// A certificate chain and its private key, parsed and checked (the key matches the leaf, the leaf
/// is within its validity period, each certificate is signed by the next), ready to serve.
public struct CertificateBundle: Sendable {
    /// Leaf first, then the intermediates, as they go on the wire.
    public let chain: [NIOSSLCertificate]
    public let key: NIOSSLPrivateKey
    /// The leaf, for its names, issuer and dates.
    public let leaf: Certificate
    /// The leaf's DNS names (subjectAltName), lowercased; may contain `*.x.y` wildcards.
    public let names: [String]
    /// SHA-256 of the leaf's DER bytes, hex: two bundles with the same one serve the same certificate.
    public let fingerprint: String
    /// The chain and key as PEM, as they were read (for storing).
    public let chainPEM: String
    public let keyPEM: String

    public var issuer: String { leaf.issuer.description }
    public var notBefore: Date { leaf.notValidBefore }
    public var notAfter: Date { leaf.notValidAfter }

    /// Parses and checks a PEM chain (leaf first) and a PEM private key. Each refusal says which
    /// part is wrong (`.certificate` or `.key`) and why.
    public init(chainPEM: String, keyPEM: String, now: Date = Date()) throws(CertificateProblem) {
        let blocks = Self.pemBlocks(chainPEM, label: "CERTIFICATE")
        guard !blocks.isEmpty else {
            throw .certificate("it holds no certificate (expected a -----BEGIN CERTIFICATE----- block)")
        }
        var certificates: [Certificate] = []
        for (index, block) in blocks.enumerated() {
            do {
                certificates.append(try Certificate(pemEncoded: block))
            } catch {
                throw .certificate("certificate \(index + 1) of \(blocks.count) cannot be parsed: \(error)")
            }
        }
        let privateKey: Certificate.PrivateKey
        do {
            privateKey = try Certificate.PrivateKey(pemEncoded: keyPEM.trimmingCharacters(in: .whitespacesAndNewlines))
        } catch {
            throw .key("it is not a private key Canopy can read (PEM: PKCS#8, EC or RSA): \(error)")
        }
        let leaf = certificates[0]
        guard leaf.publicKey == privateKey.publicKey else {
            throw .certificate(
                "its certificate does not match the private key (the key belongs to another certificate)")
        }
        try Self.checkValidity(certificates, now: now)
        try Self.checkChain(certificates)
        let names = Self.dnsNames(leaf)
        guard !names.isEmpty else {
            throw .certificate("its certificate names no hostname (it has no subjectAltName DNS names)")
        }
        do {
            chain = try blocks.map { try NIOSSLCertificate(bytes: Array($0.utf8), format: .pem) }
            key = try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)
        } catch {
            throw .key("the TLS library cannot load it: \(error)")
        }
        self.leaf = leaf
        self.names = names
        self.chainPEM = chainPEM
        self.keyPEM = keyPEM
        let der = (try? chain[0].toDERBytes()) ?? Array(blocks[0].utf8)
        fingerprint = SHA256.hash(data: der).map { String(format: "%02x", $0) }.joined()
    }

    /// True when one of the certificate's names covers `hostname` (`*.x.y` covers one label).
    public func covers(_ hostname: String) -> Bool {
        let host = hostname.lowercased()
        return names.contains { name in
            if name == host { return true }
            guard name.hasPrefix("*."), let dot = host.firstIndex(of: ".") else { return false }
            return host[host.index(after: dot)...] == name.dropFirst(2)
        }
    }

    // MARK: Checks

    private static func checkValidity(_ certificates: [Certificate], now: Date) throws(CertificateProblem) {
        for (index, certificate) in certificates.enumerated() {
            let which = index == 0 ? "its certificate" : "certificate \(index + 1) of the chain"
            if now < certificate.notValidBefore {
                throw .certificate("\(which) is not valid yet: it is valid from \(certificate.notValidBefore)")
            }
            if now > certificate.notValidAfter {
                throw .certificate("\(which) has expired: it was valid until \(certificate.notValidAfter)")
            }
        }
    }

    /// Each certificate must be issued and signed by the one after it.
    private static func checkChain(_ certificates: [Certificate]) throws(CertificateProblem) {
        for index in certificates.indices.dropLast() {
            let child = certificates[index]
            let parent = certificates[index + 1]
            guard child.issuer == parent.subject,
                parent.publicKey.isValidSignature(child.signature, for: child)
            else {
                throw .certificate(
                    "the chain does not verify: certificate \(index + 1) (\(child.subject)) is not signed by certificate \(index + 2) (\(parent.subject)); put the leaf first, then each issuer in order"
                )
            }
        }
    }

    static func dnsNames(_ certificate: Certificate) -> [String] {
        guard let names = try? certificate.extensions.subjectAlternativeNames else { return [] }
        return names.compactMap { name in
            if case .dnsName(let dns) = name { return dns.lowercased() }
            return nil
        }
    }

    /// The PEM blocks with this label, each with its BEGIN and END lines.
    static func pemBlocks(_ text: String, label: String) -> [String] {
        let begin = "-----BEGIN \(label)-----"
        let end = "-----END \(label)-----"
        var blocks: [String] = []
        var rest = Substring(text)
        while let start = rest.range(of: begin), let stop = rest.range(of: end, range: start.upperBound..<rest.endIndex)
        {
            blocks.append(String(rest[start.lowerBound..<stop.upperBound]))
            rest = rest[stop.upperBound...]
        }
        return blocks
    }
}

/// Why a certificate and key were refused: which of the two, and the reason.
public enum CertificateProblem: Error, Sendable, Equatable {
    case certificate(String)
    case key(String)

    public var reason: String {
        switch self {
        case .certificate(let reason), .key(let reason): reason
        }
    }
}
