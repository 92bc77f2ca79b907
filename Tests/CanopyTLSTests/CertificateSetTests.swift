import Foundation
import Testing

@testable import CanopyTLS

struct CertificateSetTests {
    func bundle(_ leaf: TestLeaf) throws -> CertificateBundle {
        try CertificateBundle(chainPEM: leaf.chainPEM, keyPEM: leaf.keyPEM)
    }

    @Test func exactNamesAndWildcardsSelectTheirCertificate() throws {
        let ca = try TestCA()
        let site = try bundle(try ca.leaf(["example.com", "www.example.com"]))
        let previews = try bundle(try ca.leaf(["*.preview.example.com"]))
        let (set, failures) = TLSContexts.makeSet([
            "example.com": site, "www.example.com": site, "*.preview.example.com": previews,
        ])
        #expect(failures.isEmpty)
        #expect(set.entry(forServerName: "example.com")?.bundle.fingerprint == site.fingerprint)
        #expect(set.entry(forServerName: "WWW.Example.COM.")?.bundle.fingerprint == site.fingerprint)
        #expect(set.entry(forServerName: "feature-x.preview.example.com")?.bundle.fingerprint == previews.fingerprint)
        // A wildcard covers one label only; unknown names get nothing (never another site's certificate).
        #expect(set.entry(forServerName: "a.b.preview.example.com") == nil)
        #expect(set.entry(forServerName: "preview.example.com") == nil)
        #expect(set.entry(forServerName: "other.org") == nil)
        #expect(set.names == ["*.preview.example.com", "example.com", "www.example.com"])
        // Hostnames with one certificate share one TLS context.
        #expect(
            set.entry(forServerName: "example.com")!.context === set.entry(forServerName: "www.example.com")!.context)
    }

    @Test func aNewSetKeepsTheContextsOfUnchangedCertificates() throws {
        let ca = try TestCA()
        let site = try bundle(try ca.leaf(["example.com"]))
        let other = try bundle(try ca.leaf(["other.org"]))
        let (first, _) = TLSContexts.makeSet(["example.com": site, "other.org": other])
        let renewed = try bundle(try ca.leaf(["other.org"]))
        let (second, _) = TLSContexts.makeSet(["example.com": site, "other.org": renewed], reusing: first)
        #expect(
            second.entry(forServerName: "example.com")!.context === first.entry(forServerName: "example.com")!.context)
        #expect(second.entry(forServerName: "other.org")!.context !== first.entry(forServerName: "other.org")!.context)
        #expect(second.entry(forServerName: "other.org")!.bundle.fingerprint == renewed.fingerprint)
    }

    @Test func bundleCoversItsNames() throws {
        let ca = try TestCA()
        let b = try bundle(try ca.leaf(["example.com", "*.preview.example.com"]))
        #expect(b.covers("example.com"))
        #expect(b.covers("dev.preview.example.com"))
        #expect(!b.covers("www.example.com"))
        #expect(!b.covers("x.dev.preview.example.com"))
        #expect(b.names == ["example.com", "*.preview.example.com"])
        #expect(b.issuer.contains("Canopy Test CA"))
    }
}
