import Testing

@testable import CanopySpec

/// `tls:`, `https:` and `hsts:` per site, branch and preview pattern.
@Suite("SitesSpec TLS")
struct SitesTLSTests {
    func parse(_ yaml: String) throws -> SiteConfig {
        try SitesSpec.parse(yaml, file: "Sites/shop.yml", siteName: "shop", baseDirectory: "/srv/canopy/Sites")
    }

    @Test func siteDefaultsApplyWhereABranchOrPreviewSetsNone() throws {
        let site = try parse(
            """
            repository: ../repos/shop.git
            tls: { certificate: certs/shop.pem, key: /etc/canopy/shop.key }
            hsts: 180d
            branches:
              main: { domains: [shop.example.com] }
              dev: { domains: [dev.example.com], tls: acme, https: allow }
              legacy: { domains: [old.example.com], tls: off }
            previews:
              - branches: "feature/*"
                domain: "{branch}.preview.example.com"
                hsts: { maxAge: 365d, includeSubDomains: true, preload: true }
            """)
        let main = site.branches[0].settings.tls
        #expect(main.tls == .files(certificate: "/srv/canopy/Sites/certs/shop.pem", key: "/etc/canopy/shop.key"))
        #expect(main.https == nil)
        #expect(main.hsts?.headerValue == "max-age=15552000")
        let dev = site.branches[1].settings.tls
        #expect(dev.tls == .acme)
        #expect(dev.https == .allow)
        #expect(site.branches[2].settings.tls.tls == .off)
        let preview = site.previews[0].settings.tls
        #expect(preview.hsts?.headerValue == "max-age=31536000; includeSubDomains; preload")
        #expect(preview.tls == main.tls)
    }

    @Test func badValuesSayWhereAndWhat() throws {
        func error(_ fragment: String) throws -> SpecError {
            try #require(throws: SpecError.self) {
                try parse(
                    "repository: ../repos/shop.git\nbranches:\n  main:\n    domains: [a.example.com]\n" + fragment)
            }
        }
        let tls = try error("    tls: sometimes\n")
        #expect(tls.description.contains("shop.yml:5"))
        #expect(tls.description.contains("acme, off or { certificate: FILE, key: FILE }"))
        #expect(try error("    tls: { certificate: a.pem }\n").description.contains("needs both certificate"))
        #expect(try error("    https: always\n").description.contains("redirect or allow"))
        #expect(try error("    hsts: forever\n").description.contains("duration"))
        #expect(
            try error("    hsts: { maxAge: 10d, preload: true }\n").description.contains(
                "preload needs includeSubDomains"))
    }
}
