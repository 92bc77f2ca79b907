import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Certificates Canopy obtained (ACME) or keeps, in the data folder:
///
/// ```
/// <data>/tls/                                    mode 0700
///   certificates/<name>/<version>/chain.pem      leaf first, then intermediates
///   certificates/<name>/<version>/key.pem        mode 0600
///   certificates/<name>/current -> <version>     the version in force
/// ```
///
/// `<name>` is the hostname, or `_wildcard.x.y` for `*.x.y`. A new certificate gets a folder of
/// its own, written durably (temporary file, fsync, rename) key first; then `current` is switched
/// to it with one rename. A reader resolves `current` once and reads both files from the folder it
/// names, so a renewal or a crash never pairs one certificate's chain with another's key. The
/// previous version is kept (one rollback), older ones are removed.
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

    /// The files of the version in force for a name, with `current` resolved; nil when none is stored.
    public func currentFiles(for name: String) -> CertificateFiles? {
        let folder = folder(for: name)
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard let target = realpath(folder + "/current", &buffer) else { return nil }
        let version = String(cString: target)
        return CertificateFiles(certificate: version + "/chain.pem", key: version + "/key.pem")
    }

    /// Stores a chain and key as the new version in force for `name`, and removes versions older
    /// than the one it replaces.
    public func save(_ bundle: CertificateBundle, as name: String, now: Date = Date()) throws {
        let folder = folder(for: name)
        try DurableFile.makeFolder(root)
        try DurableFile.makeFolder(certificatesFolder)
        try DurableFile.makeFolder(folder)
        let stamp = Self.versionFormatter.string(from: now)
        let version = "\(stamp)-\(bundle.fingerprint.prefix(12))"
        let versionFolder = folder + "/" + version
        try DurableFile.makeFolder(versionFolder)
        try DurableFile.write(Array(bundle.keyPEM.utf8), to: versionFolder + "/key.pem", mode: 0o600)
        try DurableFile.write(Array(bundle.chainPEM.utf8), to: versionFolder + "/chain.pem", mode: 0o644)
        let previous = currentFiles(for: name).map { ($0.certificate as NSString).deletingLastPathComponent }
        try DurableFile.link(folder + "/current", to: version)
        let keep: Set<String> = [version, previous.map { ($0 as NSString).lastPathComponent } ?? version, "current"]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where !keep.contains(entry) {
            try? FileManager.default.removeItem(atPath: folder + "/" + entry)
        }
    }

    /// The stored bundle in force for a hostname or `*.x.y`; nil when none is stored. A stored
    /// bundle that no longer checks (expired, damaged) throws with the file and the reason.
    public func load(_ name: String, now: Date = Date()) throws(CertificateFileError) -> CertificateBundle? {
        guard let files = currentFiles(for: name) else { return nil }
        return try files.load(now: now)
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

    static let versionFormatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss.SSS"
        return formatter
    }()
}
