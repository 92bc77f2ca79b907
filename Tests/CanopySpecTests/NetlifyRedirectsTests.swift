import Testing

@testable import CanopySpec

/// `_redirects` as Netlify reads it. Inputs are the fixtures of Netlify's own parser
/// (netlify/build, packages/redirect-parser/tests/fixtures/redirects_file/…, expectations in
/// tests/line-parser.test.ts) and the examples of docs.netlify.com/routing/redirects/redirect-options.
@Suite("Netlify _redirects")
struct NetlifyRedirectsTests {
    /// Fixture `to_path_forward`: `/admin/* 200` is a forward rule whose target is `/admin/:splat`,
    /// not a redirect to "200".
    @Test("fixture to_path_forward: a status in the second field is a status")
    func forwardRule() throws {
        let rules = try RulesSpec.parseNetlifyRedirects("/admin/* 200\n/admin/* 200!\n", file: "_redirects")
        #expect(rules.map(\.target) == ["/admin/:splat", "/admin/:splat"])
        #expect(rules.map(\.status) == [.rewrite, .rewrite])
        #expect(rules.map(\.force) == [false, true])
    }

    /// Fixtures `invalid_no_to_no_status` and `invalid_no_to_status`: Netlify reports "Missing
    /// destination" / "Missing \"to\" field" and drops the line; Canopy warns with the line.
    @Test("fixtures invalid_no_to_*: a line without a target is dropped with a warning")
    func missingTarget() throws {
        let parsed = try RulesSpec.readNetlifyRedirects(
            "/m/scge/legal\n/swfobject.html?detectflash=false 301\n/kept /here 302\n", file: "_redirects")
        #expect(parsed.rules.map(\.source) == ["/kept"])
        #expect(parsed.warnings.map(\.location.line) == [1, 2])
        #expect(parsed.warnings.allSatisfy { $0.severity == .warning && $0.message.contains("no target") })
        #expect(!parsed.rules.contains { $0.target == "301" })
    }

    /// Fixtures `invalid_no_slash` and `invalid_no_to_query`: "must start with \"/\", \"http:\" or \"https:\"".
    @Test("fixtures invalid_no_slash, invalid_no_to_query: a target that is no path or URL is an error at its line")
    func badTarget() throws {
        let failure = try #require(throws: SpecError.self) {
            try RulesSpec.parseNetlifyRedirects(
                "/\tindex.html\n/blog\tblog.html\n/m/scge/legal source=:source\n", file: "_redirects")
        }
        #expect(failure.diagnostics.map(\.location.line) == [1, 2, 3])
        #expect(failure.diagnostics[0].message.contains("index.html"))
        #expect(failure.diagnostics[0].location.column == 3)
    }

    /// Fixture `invalid_status`: `/from /to not_a_status`.
    @Test("fixture invalid_status: a status that is not a number is an error with its column")
    func badStatus() throws {
        let failure = try #require(throws: SpecError.self) {
            try RulesSpec.parseNetlifyRedirects("/from /to not_a_status\n", file: "_redirects")
        }
        #expect(failure.diagnostics.map(\.location.line) == [1])
        #expect(failure.diagnostics[0].location.column == 11)
    }

    /// Fixture `query`, and the docs' `/store id=:id /blog/:id 301`.
    @Test("fixture query: literal and placeholder query matches, a value that starts with /")
    func queryMatches() throws {
        let rules = try RulesSpec.parseNetlifyRedirects(
            "/      page=news      /news\n/blog  post=:post_id  /blog/:post_id\n/      _escaped_fragment_=/about    /about\n/store id=:id /blog/:id 301\n",
            file: "_redirects")
        #expect(rules.map(\.target) == ["/news", "/blog/:post_id", "/about", "/blog/:id"])
        #expect(
            rules.map(\.queryMatches) == [
                ["page": "news"], ["post": ":post_id"], ["_escaped_fragment_": "/about"], ["id": ":id"],
            ])
    }

    /// Fixtures `conditions_country_language`, `conditions_role`, `conditions_query`: Canopy evaluates
    /// Language; Country only with a GeoIP database, Role never, so without one the rule is refused
    /// at its line rather than applied to everyone.
    @Test(
        "fixtures conditions_*: Language and Cookie are kept; Country (without --geoip), Role and Signed fail at their line"
    )
    func conditions() throws {
        let language = try RulesSpec.parseNetlifyRedirects(
            "/old-path /new-path 200 language=en\n/ /fr 302 Language=fr,de\n", file: "_redirects")
        #expect(language.map(\.languages) == [["en"], ["fr", "de"]])
        let cookie = try RulesSpec.parseNetlifyRedirects(
            "/*  /cookie-present  302  Cookie=ab_test,other\n", file: "_redirects")
        #expect(cookie.map(\.cookies) == [["ab_test", "other"]])
        let failure = try #require(throws: SpecError.self) {
            try RulesSpec.parseNetlifyRedirects(
                "/  /china 302 Country=il Language=en\n/admin/*  /admin/:splat 200 Role=admin\n/donate source=:source email=:email /donate/usa?source=:source&email=:email 302 Country=us\n/api/* https://api.example.com/:splat 200! Signed=API_SECRET\n",
                file: "_redirects")
        }
        #expect(failure.diagnostics.map(\.location.line) == [1, 2, 3, 4])
        #expect(failure.diagnostics[0].message.contains("start the server with --geoip FILE"))
        #expect(failure.diagnostics[0].location.column == 15)
        #expect(failure.diagnostics[1].message.contains("Role=admin"))
    }

    /// With a GeoIP database, Country is read as Netlify's parser reads it (fixtures `conditions_country`
    /// `/  /china 302 Country=ch,tw`, `conditions_country_case` `Country=US`, `conditions_country_language`),
    /// uppercased: ISO 3166 codes compare case-insensitively. A value that is no two-letter code is a
    /// warning (Netlify takes it and matches nobody).
    @Test("fixtures conditions_country*: with --geoip, Country is kept, uppercased, beside Language")
    func countryWithGeoIP() throws {
        let geoIP = RuleCapabilities(geoIP: true)
        let parsed = try RulesSpec.readNetlifyRedirects(
            "/  /china 302 Country=ch,tw\n/old-path /new-path 200 Country=US\n/  /china 302 Country=il Language=en\n",
            file: "_redirects", capabilities: geoIP)
        #expect(parsed.rules.map(\.countries) == [["CH", "TW"], ["US"], ["IL"]])
        #expect(parsed.rules[2].languages == ["en"])
        #expect(parsed.warnings.isEmpty)
        let odd = try RulesSpec.readNetlifyRedirects("/ /x 302 country=usa\n", file: "_redirects", capabilities: geoIP)
        #expect(odd.rules.map(\.countries) == [["USA"]])
        #expect(odd.warnings.map(\.location.line) == [1])
        #expect(odd.warnings.first?.message.contains("two-letter ISO 3166") == true)
        // Role is never evaluated, with or without a database.
        #expect(throws: SpecError.self) {
            try RulesSpec.parseNetlifyRedirects(
                "/admin/* /admin/:splat 200 Role=admin\n", file: "_redirects", capabilities: geoIP)
        }
    }

    /// docs.netlify.com redirect options: "/ecommerce /store-closed 404" and other statuses.
    @Test("statuses: 404, 410, 451 and forced 404!")
    func statuses() throws {
        let rules = try RulesSpec.parseNetlifyRedirects(
            "/ecommerce /store-closed 404\n/gone /gone.html 410\n/legal /blocked.html 451!\n/x /y 404!\n",
            file: "_redirects")
        #expect(rules.map(\.status) == [.notFound, .content(410), .content(451), .notFound])
        #expect(rules.map(\.force) == [false, false, true, true])
        let odd = try #require(throws: SpecError.self) {
            try RulesSpec.parseNetlifyRedirects("/a /b 304\n/c /d 99\n", file: "_redirects")
        }
        #expect(odd.diagnostics.map(\.location.line) == [1, 2])
    }

    /// Fixtures `from_absolute_uri`, `to_anchor`, `comment_inline`, `line_trim`.
    @Test("fixtures from_absolute_uri, to_anchor, comment_inline, line_trim")
    func otherFixtures() throws {
        let rules = try RulesSpec.parseNetlifyRedirects(
            "http://hello.bitballoon.com/* http://www.hello.com/:splat\n/blog/my-post-ads.php  /blog/my-post#ads\n/blog/my-post.php /blog/my-post # this is a comment\n   /home  /  \n",
            file: "_redirects")
        #expect(
            rules.map(\.source) == [
                "http://hello.bitballoon.com/*", "/blog/my-post-ads.php", "/blog/my-post.php", "/home",
            ])
        #expect(rules.map(\.target) == ["http://www.hello.com/:splat", "/blog/my-post#ads", "/blog/my-post", "/"])
        #expect(rules.map(\.status) == Array(repeating: .redirect(301), count: 4))
    }

    /// Fixture `proxy` (`/api/*  https://api.bitballoon.com/*  200`) and Amplify's reverse-proxy
    /// example (docs.aws.amazon.com/amplify/latest/userguide/redirects.html, "Reverse proxy
    /// rewrite"): a 200 to a URL is a proxy, as on Netlify (docs.netlify.com/routing/redirects/
    /// rewrites-proxies, "Proxy to another service"), with no warning.
    @Test("fixture proxy: a 200 to a URL is a proxy rule, without a warning")
    func proxyRule() throws {
        let netlify = try RulesSpec.readNetlifyRedirects(
            "/api/*  https://api.bitballoon.com/*  200\n", file: "_redirects")
        #expect(netlify.rules.count == 1)
        #expect(netlify.rules[0].isProxy)
        #expect(netlify.warnings.isEmpty)
        let amplify = try RulesSpec.readAmplifyRedirects(
            json: "[\n  {\"source\": \"/<*>\", \"status\": \"200\", \"target\": \"https://api.example.com/<*>\"}\n]",
            file: "redirects.json")
        #expect(amplify.warnings.isEmpty)
        #expect(amplify.rules[0].isProxy)
        #expect(!netlify.rules[0].isProxy || RulesSpec.proxyTargetError(netlify.rules[0].target) == nil)
    }

    /// A placeholder or splat in a proxy target's host or port would let a request choose where the
    /// edge connects: refused at its line in every rule syntax (only the path may be substituted).
    @Test("a splat or placeholder in a proxy target's host is an error at its line")
    func proxyHostPlaceholdersAreRefused() throws {
        let netlify = try #require(throws: SpecError.self) {
            try RulesSpec.readNetlifyRedirects(
                "/ok /fine 301\n/p/:host/*  https://:host.example.com/:splat  200\n", file: "_redirects")
        }
        #expect(netlify.diagnostics.map(\.location.line) == [2])
        #expect(netlify.diagnostics[0].message.contains("proxy target"))
        let port = try #require(throws: SpecError.self) {
            try RulesSpec.readNetlifyRedirects("/p/*  http://127.0.0.1:*/x  200\n", file: "_redirects")
        }
        #expect(port.diagnostics.map(\.location.line) == [1])
        let amplify = try #require(throws: SpecError.self) {
            try RulesSpec.readAmplifyRedirects(
                json:
                    "[\n  {\"source\": \"/<h>/<*>\", \"status\": \"200\", \"target\": \"https://<h>.example.com/<*>\"}\n]",
                file: "redirects.json")
        }
        #expect(amplify.diagnostics.map(\.location.line) == [2])
        let toml = try #require(throws: SpecError.self) {
            try RulesSpec.parseNetlifyTOML(
                "[[redirects]]\n  from = \"/p/*\"\n  to = \"https://*.example.com/\"\n  status = 200\n",
                file: "netlify.toml")
        }
        #expect(toml.diagnostics.map(\.location.line) == [3])
        // A literal port, and a placeholder in the path, are fine.
        #expect(
            try RulesSpec.readNetlifyRedirects("/p/*  http://127.0.0.1:8080/:splat  200\n", file: "_redirects").rules
                .count == 1)
    }
}

@Suite("Sites-file redirects")
struct SitesFileRedirectWarningsTests {
    /// Amplify's "Reverse proxy rewrite" example written in a Sites file: a proxy rule, with no
    /// warning (Canopy proxies it as Amplify does).
    @Test("a 200 to a URL in a Sites file is a proxy rule")
    func proxyRuleInASitesFile() throws {
        let site = try SitesSpec.parse(
            """
            repository: ../repos/shop.git
            redirects:
              - source: /images/<*>
                target: https://images.otherdomain.com/<*>
                status: '200'
            branches:
              main: { domains: [shop.test] }
            """, file: "Sites/shop.yml", siteName: "shop", baseDirectory: "/srv/canopy/Sites")
        #expect(site.redirects.count == 1)
        #expect(site.redirects.first?.isProxy == true)
        #expect(site.warnings.isEmpty)
    }
}
