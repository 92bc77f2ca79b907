import Testing

@testable import CanopySpec

/// `netlify.toml`'s `[[redirects]]` and `[[headers]]`. Inputs are the fixtures of Netlify's parser
/// (netlify/build, packages/redirect-parser/tests/fixtures/netlify_config/…) and the docs' examples
/// (docs.netlify.com/routing/headers, "Syntax for the Netlify configuration file").
@Suite("netlify.toml")
struct NetlifyTOMLTests {
    @Test("fixtures status_string, from_forward, invalid_no_to: the same semantics as _redirects")
    func redirects() throws {
        let config = try RulesSpec.parseNetlifyTOML(
            """
            [[redirects]]
              from = "/old-path"
              to = "/new-path"
              status = "200"

            [[redirects]]
              from = "/old-path/*"
              status = 200

            [[redirects]]
              from = "/no-target"

            [[redirects]]
              from = "/store"
              to = "/blog/:id"
              query = {id = ":id"}
              conditions = {language = ["en", "FR"]}
              force = true
              status = 410
            """, file: "netlify.toml")
        #expect(config.redirects.map(\.source) == ["/old-path", "/old-path/*", "/store"])
        #expect(config.redirects.map(\.target) == ["/new-path", "/old-path/:splat", "/blog/:id"])
        #expect(config.redirects.map(\.status) == [.rewrite, .rewrite, .content(410)])
        #expect(config.redirects[2].queryMatches == ["id": ":id"])
        #expect(config.redirects[2].languages == ["en", "fr"])
        #expect(config.redirects[2].force)
        #expect(config.redirects.map(\.location?.line) == [1, 6, 13])
        #expect(config.warnings.map(\.location.line) == [10])
        #expect(config.warnings[0].message.contains("no target"))
    }

    /// docs.netlify.com/routing/redirects/rewrites-proxies, "Custom headers in proxy redirects":
    /// `headers = {X-From = "Netlify"}` on a proxy rule go to the upstream; on another rule they
    /// are ignored with a warning at their line.
    @Test("headers of a proxy rule in netlify.toml are kept for the upstream")
    func proxyHeaders() throws {
        let config = try RulesSpec.parseNetlifyTOML(
            """
            [[redirects]]
              from = "/search"
              to = "https://api.mysearch.com"
              status = 200
              headers = {X-From = "Netlify", X-Api-Key = "some-api-key-string"}

            [[redirects]]
              from = "/old"
              to = "/new"
              headers = {X-From = "Netlify"}
            """, file: "netlify.toml")
        #expect(config.redirects.count == 2)
        #expect(config.redirects[0].isProxy)
        #expect(
            config.redirects[0].proxyHeaders == [
                HeaderField(name: "X-Api-Key", value: "some-api-key-string"),
                HeaderField(name: "X-From", value: "Netlify"),
            ])
        #expect(config.redirects[1].proxyHeaders.isEmpty)
        #expect(config.warnings.map(\.location.line) == [10])
    }

    /// Fixture `complex.toml`: a Country and Role condition, and a signed proxy; each refused at its line.
    @Test("fixture complex.toml: conditions Canopy cannot evaluate and signing fail at their line")
    func complex() throws {
        let failure = try #require(throws: SpecError.self) {
            try RulesSpec.parseNetlifyTOML(
                """
                [[redirects]]
                  from = "/old-path"
                  to = "/new-path"
                  status = 301
                  force = false
                  query = {path = ":path"}
                  conditions = {Language = ["en"], Country = ["US"], Role = ["admin"]}

                ## This rule redirects to an external API, signing requests with a secret
                [[redirects]]
                  from = "/search"
                  to = "https://api.mysearch.com"
                  status = 200
                  force = true # COMMENT: ensure that we always redirect
                  headers = {X-From = "Netlify"}
                  signed = "API_SIGNATURE_TOKEN"
                """, file: "netlify.toml")
        }
        #expect(failure.diagnostics.map(\.location.line) == [7, 16])
        #expect(failure.diagnostics[0].message.contains("Country=US"))
    }

    /// Fixture `conditions_country_case.toml` (`conditions = {Country = ["US"]}`): refused at its line
    /// without a GeoIP database, with what to do; kept (uppercased) with one. A string is a
    /// comma-separated list, as netlify/build's conditions.js splits it.
    @Test("fixture conditions_country_case.toml: Country needs --geoip; with it the countries are kept")
    func country() throws {
        let fixture =
            "[[redirects]]\n  from = \"/old-path\"\n  to = \"/new-path\"\n  conditions = {Country = [\"US\"]}\n"
        let refused = try #require(throws: SpecError.self) {
            try RulesSpec.parseNetlifyTOML(fixture, file: "netlify.toml")
        }
        #expect(refused.diagnostics.map(\.location.line) == [4])
        #expect(refused.diagnostics[0].message.contains("Country=US without a GeoIP database"))
        #expect(refused.diagnostics[0].message.contains("--geoip FILE"))
        let geoIP = RuleCapabilities(geoIP: true)
        let kept = try RulesSpec.parseNetlifyTOML(fixture, file: "netlify.toml", capabilities: geoIP)
        #expect(kept.redirects.map(\.countries) == [["US"]])
        #expect(kept.redirects.map(\.status) == [.redirect(301)])
        let listed = try RulesSpec.parseNetlifyTOML(
            "[[redirects]]\n  from = \"/\"\n  to = \"/anz\"\n  conditions = {country = \"au, nz\"}\n",
            file: "netlify.toml",
            capabilities: geoIP)
        #expect(listed.redirects.map(\.countries) == [["AU", "NZ"]])
    }

    /// Fixtures `invalid_status_string` and a target without a slash; a TOML syntax error.
    @Test("fixture invalid_status_string, a bad target, broken TOML: errors with their line")
    func errors() throws {
        let status = try #require(throws: SpecError.self) {
            try RulesSpec.parseNetlifyTOML(
                "[[redirects]]\n  from = \"/old-path\"\n  to = \"new-path\"\n  status = \"not_a_status\"\n",
                file: "netlify.toml")
        }
        #expect(status.diagnostics.map(\.location.line) == [4])
        let target = try #require(throws: SpecError.self) {
            try RulesSpec.parseNetlifyTOML(
                "[[redirects]]\n  from = \"/old-path\"\n  to = \"new-path\"\n", file: "netlify.toml")
        }
        #expect(target.diagnostics.map(\.location.line) == [3])
        let broken = try #require(throws: SpecError.self) {
            try RulesSpec.parseNetlifyTOML("[[redirects]]\n  from = \"/a\n", file: "netlify.toml")
        }
        #expect(broken.diagnostics.first?.location.line == 2)
        #expect(broken.description.hasPrefix("netlify.toml:2:"))
    }

    /// Found by the netlify-toml fuzz target: a non-ASCII character in a table header made toml++
    /// assert (and so abort the server). It is refused at its line and column before parsing;
    /// inside strings and comments it is fine.
    @Test("a character outside ASCII in a key is an error at its line, in a string or comment it is kept")
    func nonASCII() throws {
        let failure = try #require(throws: SpecError.self) {
            try RulesSpec.parseNetlifyTOML(
                "# café\n[[redirects]]\n  from = \"/a\"\n[\u{FFFD}us]]\n", file: "netlify.toml")
        }
        #expect(failure.diagnostics.map(\.location.line) == [4])
        #expect(failure.diagnostics.first?.location.column == 2)
        let kept = try RulesSpec.parseNetlifyTOML(
            "# déjà vu\n[[redirects]]\n  from = \"/café\"\n  to = '/thé \\'\n  status = 301\n", file: "netlify.toml")
        #expect(kept.redirects.map(\.source) == ["/café"])
        #expect(kept.redirects.map(\.target) == ["/thé \\"])
    }

    /// docs.netlify.com/routing/headers: `for = "/*"` with `[headers.values]`, a multi-line value
    /// (packages/headers-parser/src/normalize.ts joins it with ", "), an array value; [build] is not read.
    @Test("[[headers]]: values, multi-line values, arrays; other sections get a warning")
    func headers() throws {
        let config = try RulesSpec.parseNetlifyTOML(
            """
            [build]
              publish = "dist"

            [[headers]]
              for = "/*"
              [headers.values]
                X-Frame-Options = "DENY"
                cache-control = '''
                max-age=0,
                no-cache,
                no-store,
                must-revalidate'''
                Link = ["</style.css>; rel=preload; as=style", "</app.js>; rel=preload; as=script"]
                X-Empty = ""
            """, file: "netlify.toml")
        #expect(config.headers.map(\.pattern) == ["/*"])
        let values = Dictionary(uniqueKeysWithValues: config.headers[0].headers.map { ($0.name, $0.value) })
        #expect(values["X-Frame-Options"] == "DENY")
        #expect(values["cache-control"] == "max-age=0, no-cache, no-store, must-revalidate")
        #expect(values["Link"] == "</style.css>; rel=preload; as=style, </app.js>; rel=preload; as=script")
        #expect(values["X-Empty"] == nil)
        #expect(config.warnings.map(\.location.line).sorted() == [1, 14])
    }
}

/// customHttp.yml in Amplify's monorepo form (docs.aws.amazon.com/amplify/latest/userguide/
/// custom-headers.html, "Monorepo custom headers": `applications:` with `appRoot`).
@Suite("customHttp.yml monorepo form")
struct CustomHTTPMonorepoTests {
    static let yaml = """
        applications:
          - appRoot: app1
            customHeaders:
              - pattern: '**/*'
                headers:
                  - key: 'X-Frame-Options'
                    value: 'DENY'
          - appRoot: app2
            customHeaders:
              - pattern: '/images/**'
                headers:
                  - key: 'Cache-Control'
                    value: 'max-age=3600'
        """

    @Test("appRoot picks its application's rules; without one every application is checked")
    func picksTheApplication() throws {
        let app1 = try RulesSpec.parseCustomHTTP(yaml: Self.yaml, file: "customHttp.yml", appRoot: "app1")
        #expect(app1.map(\.pattern) == ["**/*"])
        #expect(app1[0].headers == [HeaderField(name: "X-Frame-Options", value: "DENY")])
        let app2 = try RulesSpec.parseCustomHTTP(yaml: Self.yaml, file: "customHttp.yml", appRoot: "app2/")
        #expect(app2.map(\.pattern) == ["/images/**"])
        #expect(try RulesSpec.parseCustomHTTP(yaml: Self.yaml, file: "customHttp.yml", appRoot: "app3").isEmpty)
        #expect(try RulesSpec.parseCustomHTTP(yaml: Self.yaml, file: "customHttp.yml").count == 2)
        let noRoot = try #require(throws: SpecError.self) {
            try RulesSpec.parseCustomHTTP(
                yaml: "applications:\n  - customHeaders: []\n", file: "customHttp.yml", appRoot: "app1")
        }
        #expect(noRoot.diagnostics.map(\.location.line) == [2])
    }
}
