/// What the server can evaluate of a rule beyond the rule's own text. A rule with a condition the
/// server cannot evaluate is refused at its line, never applied without its condition (it would
/// send every visitor where only some should go).
public struct RuleCapabilities: Sendable, Hashable {
    /// The server has a GeoIP database (`canopy serve --geoip FILE`): Netlify's `Country=` and
    /// Amplify's `condition` (a country code) are evaluated against the visitor's address.
    public var geoIP: Bool

    public init(geoIP: Bool = false) {
        self.geoIP = geoIP
    }

    /// Nothing beyond the rules' text: what a server without `--geoip` evaluates.
    public static let basic = RuleCapabilities()
}

extension RulesSpec {
    /// The error for a country condition on a server without a GeoIP database.
    static func countryNeedsGeoIP(_ written: String) -> String {
        "Canopy cannot evaluate \(written) without a GeoIP database: start the server with --geoip FILE (a MaxMind DB such as DB-IP's dbip-country-lite.mmdb or MaxMind's GeoLite2-Country.mmdb; canopy validate takes --geoip too), or remove the condition (or the rule)"
    }

    /// Country codes as a rule compares them (uppercase), and a warning for each value that is not a
    /// two-letter ISO 3166 code: no visitor's country is ever that, so the rule would never apply
    /// (Netlify accepts any value and matches none).
    static func countryCodes(
        _ values: [String], at location: SourceLocation, _ findings: inout DiagnosticCollector
    ) -> [String] {
        values.map { value in
            let code = value.uppercased()
            if code.count != 2 || !code.unicodeScalars.allSatisfy({ $0.value >= 65 && $0.value <= 90 }) {
                findings.warn(
                    location,
                    "'\(value)' is not a two-letter ISO 3166 country code (such as US or DE), so no visitor matches it")
            }
            return code
        }
    }
}
