import CanopySpec
import Testing

@testable import CanopyControl

/// Which certificates the ACME manager keeps, from the Sites files alone.
struct CertificateWantsTests {
    static func site(_ name: String, _ yaml: String) throws -> SiteConfig {
        try SitesSpec.parse(yaml, file: "\(name).yml", siteName: name, baseDirectory: "/tmp")
    }

    static let docs = """
        repository: /srv/git/docs.git
        acme:
          dns:
            rfc2136: { server: "127.0.0.1:53", keyName: canopy, keySecret: $TSIG }
        branches:
          main: { domains: [docs.example.com, www.docs.example.com] }
          legacy: { domains: [old.docs.example.com], tls: off }
        previews:
          - branches: "feature/*"
            domain: "{branch}.preview.docs.example.com"
          - branches: "fix/*"
            domain: "fix-{branch}.{site}.example.com"
        pullRequests: { domain: "pr-{number}.pulls.example.com" }
        commitDomain: "{commit}.commits.example.com"
        """

    @Test func previewsShareOneWildcardPerTemplateAndBranchesGetTheirOwn() throws {
        let docs = try Self.site("docs", Self.docs)
        let sources = [
            CertificateSource(hostname: "docs.example.com", site: "docs", tls: nil),
            CertificateSource(hostname: "www.docs.example.com", site: "docs", tls: nil),
            CertificateSource(hostname: "old.docs.example.com", site: "docs", tls: .off),
            CertificateSource(hostname: "feature-a.preview.docs.example.com", site: "docs", tls: nil),
            CertificateSource(hostname: "fix-b.docs.example.com", site: "docs", tls: nil),
            CertificateSource(hostname: "pr-7.pulls.example.com", site: "docs", tls: nil),
            CertificateSource(hostname: "127.0.0.1", site: "docs", tls: nil),
        ]
        let wants = CertificateWants.compute(sources: sources, sites: ["docs": docs], acmeByDefault: true)
        #expect(
            wants.map(\.name) == [
                "*.commits.example.com", "*.docs.example.com", "*.preview.docs.example.com", "*.pulls.example.com",
                "docs.example.com",
            ])
        // www.docs.example.com is one label under *.docs.example.com (the fix/* template): covered.
        #expect(wants.allSatisfy { $0.site == "docs" && $0.dns?.server == "127.0.0.1:53" })
        // Without ACME as the default only `tls: acme` names are ordered; wildcards follow the templates' `tls:`.
        let none = CertificateWants.compute(sources: sources, sites: ["docs": docs], acmeByDefault: false)
        #expect(none.isEmpty)
    }

    @Test func withoutDNSEveryPreviewIsOrderedByItself() throws {
        let site = try Self.site(
            "web",
            """
            repository: /srv/git/web.git
            tls: acme
            branches:
              main: { domains: [example.com] }
            previews:
              - branches: "*"
                domain: "{branch}.preview.example.com"
            """)
        let sources = [
            CertificateSource(hostname: "example.com", site: "web", tls: .acme),
            CertificateSource(hostname: "dev.preview.example.com", site: "web", tls: .acme),
        ]
        let wants = CertificateWants.compute(sources: sources, sites: ["web": site], acmeByDefault: false)
        #expect(wants.map(\.name) == ["dev.preview.example.com", "example.com"])
        #expect(wants.allSatisfy { $0.dns == nil })
    }

    @Test func templatesAndNamesACACannotIssueForAreLeftOut() {
        #expect(
            CertificateWants.wildcard(forTemplate: "{branch}.preview.example.com", site: "s") == "*.preview.example.com"
        )
        #expect(
            CertificateWants.wildcard(forTemplate: "{branch}-{site}.Example.com", site: "My Site") == "*.example.com")
        #expect(CertificateWants.wildcard(forTemplate: "{branch}.{site}.example.com", site: "s") == "*.s.example.com")
        #expect(CertificateWants.wildcard(forTemplate: "preview.{branch}.example.com", site: "s") == nil)
        #expect(CertificateWants.wildcard(forTemplate: "{branch}.com", site: "s") == nil)
        for name in ["localhost", "app.localhost", "10.0.0.1", "::1", "intranet", "example.com."] {
            #expect(!CertificateWants.canOrder(name), "\(name)")
        }
        #expect(CertificateWants.canOrder("www.example.com"))
    }
}
