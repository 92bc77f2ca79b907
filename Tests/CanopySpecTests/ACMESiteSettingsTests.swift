import Testing

@testable import CanopySpec

/// The Sites file's `acme: { dns: { rfc2136: … } } }` block.
@Suite struct ACMESiteSettingsTests {
    func parse(_ yaml: String) throws -> SiteConfig {
        try SitesSpec.parse(yaml, file: "Sites/shop.yml", siteName: "shop", baseDirectory: "/srv/canopy/Sites")
    }

    @Test func rfc2136SettingsAreReadWithSecretsLeftForTheEnvironment() throws {
        let site = try parse(
            """
            repository: ../repos/shop.git
            acme:
              dns:
                rfc2136:
                  server: 192.0.2.53:53
                  keyName: canopy-key
                  keyAlgorithm: hmac-sha512
                  keySecret: $DNS_TSIG_SECRET
            """)
        let settings = try #require(site.acme?.rfc2136)
        #expect(settings.server == "192.0.2.53:53" && settings.keyName == "canopy-key")
        #expect(settings.keyAlgorithm == "hmac-sha512" && settings.keySecret == "$DNS_TSIG_SECRET")
        #expect(settings.location.line == 5)
        #expect(site.warnings.isEmpty)
    }

    @Test func mistakesAreErrorsWithTheirLocationAndLiteralSecretsAWarning() throws {
        let missing = try #require(throws: SpecError.self) {
            try parse("repository: r\nacme:\n  dns:\n    rfc2136:\n      keyName: k\n      keySecret: $S\n")
        }
        #expect("\(missing)".contains("needs server") && "\(missing)".contains("Sites/shop.yml:5"))
        let algorithm = try #require(throws: SpecError.self) {
            try parse(
                "repository: r\nacme:\n  dns:\n    rfc2136:\n      server: ns:53\n      keyName: k\n      keySecret: $S\n      keyAlgorithm: hmac-md5\n"
            )
        }
        #expect("\(algorithm)".contains("hmac-md5"))
        let literal = try parse(
            "repository: r\nacme:\n  dns:\n    rfc2136:\n      server: ns\n      keyName: k\n      keySecret: c2VjcmV0\n"
        )
        #expect(literal.warnings.contains { $0.message.contains("use $NAME") })
    }
}
