import Crypto
import Foundation
import Testing

@testable import CanopyTLS

/// User-provided PEM files: each kind of bad file is refused with the file at fault and the reason.
struct CertificateFilesTests {
    let folder = TemporaryFolder()

    func files(_ chain: String, _ key: String) -> CertificateFiles {
        CertificateFiles(certificate: folder.write("cert.pem", chain), key: folder.write("key.pem", key))
    }

    func refusal(_ files: CertificateFiles) -> CertificateFileError? {
        do throws(CertificateFileError) {
            _ = try files.load()
            return nil
        } catch {
            return error
        }
    }

    @Test func aGoodChainAndKeyLoad() throws {
        let leaf = try TestCA().leaf(["example.com"])
        let bundle = try files(leaf.chainPEM, leaf.keyPEM).load()
        #expect(bundle.chain.count == 2)
        #expect(bundle.names == ["example.com"])
    }

    @Test func aCertificateThatDoesNotMatchItsKeyIsRefused() throws {
        let ca = try TestCA()
        let leaf = try ca.leaf(["example.com"])
        let other = try ca.leaf(["example.com"])
        let error = try #require(refusal(files(leaf.chainPEM, other.keyPEM)))
        #expect(error.file.hasSuffix("cert.pem"))
        #expect(error.reason.contains("does not match the private key"))
    }

    @Test func anExpiredCertificateIsRefused() throws {
        let leaf = try TestCA().leaf(["example.com"], notBefore: -86400 * 10, notAfter: -86400)
        let error = try #require(refusal(files(leaf.chainPEM, leaf.keyPEM)))
        #expect(error.file.hasSuffix("cert.pem"))
        #expect(error.reason.contains("has expired"))
    }

    @Test func aCertificateNotYetValidIsRefused() throws {
        let leaf = try TestCA().leaf(["example.com"], notBefore: 86400, notAfter: 86400 * 10)
        let error = try #require(refusal(files(leaf.chainPEM, leaf.keyPEM)))
        #expect(error.reason.contains("is not valid yet"))
    }

    @Test func aChainThatDoesNotVerifyIsRefused() throws {
        let leaf = try TestCA(commonName: "Canopy Test CA").leaf(["example.com"])
        // Another CA with the same name: the issuer name matches, the signature does not.
        let impostor = try TestCA(commonName: "Canopy Test CA")
        let error = try #require(refusal(files(leaf.certificatePEM + "\n" + impostor.pem, leaf.keyPEM)))
        #expect(error.file.hasSuffix("cert.pem"))
        #expect(error.reason.contains("the chain does not verify"))
    }

    @Test func aKeyThatCannotBeParsedIsRefused() throws {
        let leaf = try TestCA().leaf(["example.com"])
        let error = try #require(
            refusal(files(leaf.chainPEM, "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")))
        #expect(error.file.hasSuffix("key.pem"))
        #expect(error.reason.contains("not a private key"))
    }

    @Test func missingAndEmptyFilesAreRefused() throws {
        let missing = CertificateFiles(certificate: folder.path + "/none.pem", key: folder.path + "/none.key")
        #expect(refusal(missing)?.reason.contains("does not exist") == true)
        let leaf = try TestCA().leaf(["example.com"])
        #expect(refusal(files("hello", leaf.keyPEM))?.reason.contains("holds no certificate") == true)
    }

    @Test func theStoreWritesKeysPrivatelyAndReadsThemBack() throws {
        let store = CertificateStore(dataDirectory: folder.path + "/data")
        let leaf = try TestCA().leaf(["*.preview.example.com"])
        let bundle = try CertificateBundle(chainPEM: leaf.chainPEM, keyPEM: leaf.keyPEM)
        try store.save(bundle, as: "*.preview.example.com")
        let files = try #require(store.currentFiles(for: "*.preview.example.com"))
        let mode = try FileManager.default.attributesOfItem(atPath: files.key)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(store.names() == ["*.preview.example.com"])
        #expect(try store.load("*.preview.example.com")?.fingerprint == bundle.fingerprint)
        #expect(try store.load("example.com") == nil)
        // Nothing is left behind from the temporary files.
        let version = (files.certificate as NSString).deletingLastPathComponent
        #expect(try FileManager.default.contentsOfDirectory(atPath: version).sorted() == ["chain.pem", "key.pem"])
        // A new key is ECDSA P-256.
        #expect(throws: Never.self) { try P256.Signing.PrivateKey(pemRepresentation: CertificateStore.newKeyPEM()) }
    }

    /// A renewal is a new version folder and one switch of `current`: the chain and key read
    /// through `current` always belong together; the previous version stays, older ones go.
    @Test func aRenewalSwitchesVersionsAtOnceAndKeepsOnePrevious() throws {
        let store = CertificateStore(dataDirectory: folder.path + "/data")
        let ca = try TestCA()
        var fingerprints: [String] = []
        for second in 0..<3 {
            let leaf = try ca.leaf(["example.com"])
            let bundle = try CertificateBundle(chainPEM: leaf.chainPEM, keyPEM: leaf.keyPEM)
            try store.save(bundle, as: "example.com", now: Date(timeIntervalSince1970: 1_800_000_000 + Double(second)))
            fingerprints.append(bundle.fingerprint)
            #expect(try store.load("example.com")?.fingerprint == bundle.fingerprint)
        }
        let entries = try FileManager.default.contentsOfDirectory(atPath: store.folder(for: "example.com"))
        #expect(entries.count == 3, "current, the version in force and the previous one: \(entries)")
        #expect(entries.contains("current"))
        #expect(!entries.contains { $0.contains(fingerprints[0].prefix(12)) }, "the oldest version is removed")
        #expect(entries.contains { $0.contains(fingerprints[1].prefix(12)) }, "the previous version is kept")
    }
}
