import Crypto
import Foundation

/// Certificates Canopy obtained (ACME) or keeps, in the data folder:
///
/// ```
/// <data>/tls/                      mode 0700
///   certificates/<name>/chain.pem  leaf first, then intermediates
///   certificates/<name>/key.pem    mode 0600
/// ```
///
/// `<name>` is the hostname, or `_wildcard.x.y` for `*.x.y`. Both files are written durably
/// (temporary file, fsync, rename), the key first, so that a stored chain always has its key.
public struct CertificateStore: Sendable {
    public let root: String

    /// `dataDirectory` is the server's data folder; the store lives in its `tls` folder.
    public init(dataDirectory: String) {
        root = (dataDirectory as NSString).standardizingPath + "/tls"
    }

    public var certificatesFolder: String { root + "/certificates" }

    /// The folder for a hostname or `*.x.y`.
    public func folder(for name: String) -> String {
        let lower = name.lowercased()
        let safe = lower.hasPrefix("*.") ? "_wildcard." + lower.dropFirst(2) : lower
        return certificatesFolder + "/" + safe
    }

    /// Stores a chain and key (checked first: a bundle that does not load is never written).
    public func save(_ bundle: CertificateBundle, as name: String) throws {
        let folder = folder(for: name)
        try DurableFile.makeFolder(root)
        try DurableFile.makeFolder(certificatesFolder)
        try DurableFile.makeFolder(folder)
        try DurableFile.write(Array(bundle.keyPEM.utf8), to: folder + "/key.pem", mode: 0o600)
        try DurableFile.write(Array(bundle.chainPEM.utf8), to: folder + "/chain.pem", mode: 0o644)
    }

    /// The stored bundle for a hostname or `*.x.y`; nil when none is stored. A stored bundle that
    /// no longer checks (expired, damaged) throws with the file and the reason.
    public func load(_ name: String, now: Date = Date()) throws(CertificateFileError) -> CertificateBundle? {
        let folder = folder(for: name)
        guard FileManager.default.fileExists(atPath: folder + "/chain.pem") else { return nil }
        return try CertificateFiles(certificate: folder + "/chain.pem", key: folder + "/key.pem").load(now: now)
    }

    /// The names stored (hostnames and `*.x.y`).
    public func names() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: certificatesFolder)) ?? []
        return entries.filter { !$0.hasPrefix(".") }.map {
            $0.hasPrefix("_wildcard.") ? "*." + $0.dropFirst("_wildcard.".count) : $0
        }.sorted()
    }

    /// A new private key for a certificate: ECDSA P-256 (Canopy's default), as PKCS#8 PEM.
    public static func newKeyPEM() -> String {
        P256.Signing.PrivateKey().pemRepresentation
    }
}
