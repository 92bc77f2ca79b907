import CanopyEdge
import CanopySpec
import CanopyStore
import CanopyTestSupport
import Foundation
import Testing

extension GeoIPTestDatabase {
    /// A temporary folder with the database written into it, and the database opened from there.
    static func open() throws -> (folder: String, database: GeoIPDatabase) {
        let folder = try makeTemporaryDirectory("geoip")
        return (folder, try GeoIPDatabase(path: try write(into: folder)))
    }
}

/// Serves `files` at `site.test` on a real edge on loopback that has the test GeoIP database.
func withGeoIPSite(
    _ files: [String: String], rules: SiteRules = SiteRules(), _ body: (EdgeFixture) async throws -> Void
) async throws {
    let (folder, database) = try GeoIPTestDatabase.open()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try await withRulesSite(files, rules: rules, geoIP: database, body)
}

/// Visitor-country conditions (#14) over real HTTP through the real edge: clients connect from
/// different loopback addresses, which the test database places in different countries.
@Suite struct EdgeGeoIPTests {
    static let pages: [String: String] = [
        "anz.html": "australia and new zealand",
        "news.html": "news for everyone",
        "news-de.html": "Nachrichten",
        "news-us.html": "US news",
        "documents.html": "documents",
        "documents/us/index.html": "US documents",
        "documents/de/index.html": "deutsche Dokumente",
        "new-path.html": "new path",
    ]

    /// Netlify's documented example (docs.netlify.com/routing/redirects/redirect-options, "Redirect
    /// by country or language"): `/  /anz  302  Country=au,nz`. The country is the peer address's in
    /// the database (`registered_country` when it has no `country`); elsewhere the rule does not
    /// apply. There is no request header the answer depends on, so no `Vary`, as on Netlify.
    @Test func netlifyCountryConditionMatchesTheVisitorsCountry() async throws {
        var files = Self.pages
        files["_redirects"] = "/  /anz     302  Country=au,nz\n"
        try await withGeoIPSite(files) { f in
            // Two requests on one connection: the country is looked up once and kept.
            let australia = try f.client(from: GeoIPTestDatabase.australia)
            for _ in 0..<2 {
                let answer = try australia.request("GET", "/")
                #expect(answer.status == 302)
                #expect(answer.header("location") == "/anz")
                #expect(answer.header("vary") == nil)
            }
            #expect(try f.client(from: GeoIPTestDatabase.newZealand).request("GET", "/").header("location") == "/anz")
            for elsewhere in [GeoIPTestDatabase.germany, GeoIPTestDatabase.unitedStates, GeoIPTestDatabase.nowhere] {
                let answer = try f.client(from: elsewhere).request("GET", "/")
                #expect(answer.status == 404, "from \(elsewhere)")
                #expect(answer.header("location") == nil)
            }
        }
    }

    /// Over HTTP/2 (h2c, curl from a bound source address) the country is the connection's peer's too.
    @Test func countryConditionOverH2c() async throws {
        var files = Self.pages
        files["_redirects"] = "/  /anz     302  Country=au,nz\n"
        try await withGeoIPSite(files) { f in
            let h2 = EdgeHTTP2Tests()
            let australia = try h2.curl(f.port, "/", ["--interface", GeoIPTestDatabase.australia])
            #expect(australia.0 == "2")
            #expect(australia.1[":status"] == "302")
            #expect(australia.1["location"] == "/anz")
            let germany = try h2.curl(f.port, "/", ["--interface", GeoIPTestDatabase.germany])
            #expect(germany.1[":status"] == "404")
        }
    }

    /// A rule whose country does not match is passed over: the next rule, then the file, answers.
    @Test func aCountryThatDoesNotMatchFallsThroughToTheNextRuleAndTheFile() async throws {
        var files = Self.pages
        files["_redirects"] = "/news  /news-de  200!  Country=de\n/news  /news-us  200!  Country=US\n"
        try await withGeoIPSite(files) { f in
            #expect(try f.client(from: GeoIPTestDatabase.germany).request("GET", "/news").text == "Nachrichten")
            #expect(try f.client(from: GeoIPTestDatabase.unitedStates).request("GET", "/news").text == "US news")
            let elsewhere = try f.client(from: GeoIPTestDatabase.newZealand).request("GET", "/news")
            #expect(elsewhere.status == 200)
            #expect(elsewhere.text == "news for everyone")
        }
    }

    /// netlify.toml, Netlify's parser fixture `conditions_country_case.toml`
    /// (`conditions = {Country = ["US"]}`, a 301 by default); `_redirects` rules come first.
    @Test func netlifyTOMLCountryCondition() async throws {
        var files = Self.pages
        files["netlify.toml"] =
            "[[redirects]]\n  from = \"/old-path\"\n  to = \"/new-path\"\n  conditions = {Country = [\"US\"]}\n"
        try await withGeoIPSite(files) { f in
            let us = try f.client(from: GeoIPTestDatabase.unitedStates).request("GET", "/old-path")
            #expect(us.status == 301)
            #expect(us.header("location") == "/new-path")
            #expect(try f.client(from: GeoIPTestDatabase.germany).request("GET", "/old-path").status == 404)
        }
    }

    /// Amplify's "Region-based redirects" example (docs.aws.amazon.com/amplify/latest/userguide/
    /// redirect-rewrite-examples.html): `{"source": "/documents", "status": "302", "target":
    /// "/documents/us/", "condition": "<US>"}` in redirects.json, and the same kind of rule in the
    /// Sites file (read as a server with --geoip reads it), which comes first.
    @Test func amplifyCountryConditionFromRedirectsJSONAndTheSitesFile() async throws {
        var files = Self.pages
        files["redirects.json"] =
            #"[{"source": "/documents", "status": "302", "target": "/documents/us/", "condition": "<US>"}]"#
        let sites = try SitesSpec.parse(
            "repository: /srv/site.git\nredirects:\n  - source: /documents\n    target: /documents/de/\n    status: '302'\n    condition: <DE>\n",
            file: "Sites/site.yml", siteName: "site", baseDirectory: "/", capabilities: RuleCapabilities(geoIP: true))
        try await withGeoIPSite(files, rules: SiteRules(redirects: sites.redirects)) { f in
            let us = try f.client(from: GeoIPTestDatabase.unitedStates).request("GET", "/documents")
            #expect(us.status == 302)
            #expect(us.header("location") == "/documents/us/")
            let de = try f.client(from: GeoIPTestDatabase.germany).request("GET", "/documents")
            #expect(de.header("location") == "/documents/de/")
            let elsewhere = try f.client(from: GeoIPTestDatabase.newZealand).request("GET", "/documents")
            #expect(elsewhere.status == 200)
            #expect(elsewhere.text == "documents")
        }
    }

    /// An edge without a GeoIP database cannot evaluate a Country condition: a deployment with one
    /// does not load (a server restarted without --geoip), and the error names the line and the fix.
    @Test func anEdgeWithoutGeoIPRefusesADeploymentWithACountryRuleAtItsLine() throws {
        let fixture = try EdgeFixture()
        let refused = try #require(throws: SpecError.self) {
            try fixture.deploy("d1", ["index.html": "home", "_redirects": "/a /b 302\n/  /anz  302  Country=au,nz\n"])
        }
        #expect(refused.diagnostics.map(\.location.description) == ["_redirects:2:15"])
        #expect(refused.description.contains("start the server with --geoip FILE"))
    }

    /// A deployment built on a server with --geoip, served by one restarted without it (the route
    /// publisher loads it as built): it keeps serving, and its Country rule applies to no visitor
    /// while its other rules still do.
    @Test func withoutADatabaseACountryRuleAppliesToNoVisitor() async throws {
        let fixture = try EdgeFixture()
        let deployment = try fixture.deploy(
            "d1", ["index.html": "home", "_redirects": "/a /b 302\n/  /anz  302  Country=au,nz\n"],
            capabilities: RuleCapabilities(geoIP: true))
        #expect(deployment.hasCountryRules)
        try await fixture.start([
            HostRoute(
                hostname: "site.test", site: "site", environment: "main",
                targets: [RouteTarget(label: "main", weight: 1, deployment: deployment)])
        ])
        for source in [GeoIPTestDatabase.newZealand, GeoIPTestDatabase.unitedStates] {
            let home = try fixture.client(from: source).request("GET", "/")
            #expect(home.status == 200)
            #expect(home.text == "home")
        }
        let other = try fixture.client().request("GET", "/a")
        #expect(other.status == 302)
        #expect(other.header("location") == "/b")
        try await fixture.server.shutdown()
    }

    /// `--geoip` with a missing file or one that is not a MaxMind DB: a clear error naming the file,
    /// what is wrong and what the option takes (the server does not start; see CommandLineTests).
    @Test func aMissingOrCorruptDatabaseIsAClearError() throws {
        let folder = try makeTemporaryDirectory("geoip-bad")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let missing = try #require(throws: GeoIPDatabaseError.self) {
            try GeoIPDatabase(path: folder + "/nope.mmdb")
        }
        #expect(missing.description.contains("\(folder)/nope.mmdb: No such file or directory"), "\(missing)")
        let corrupt = folder + "/corrupt.mmdb"
        try Data(repeating: 0x2A, count: 4096).write(to: URL(fileURLWithPath: corrupt))
        let refused = try #require(throws: GeoIPDatabaseError.self) { try GeoIPDatabase(path: corrupt) }
        #expect(refused.description.contains("\(corrupt) is not a MaxMind DB file"), "\(refused)")
        // A database that is written whole opens, and says what it is.
        let good = try GeoIPDatabase(path: try GeoIPTestDatabase.write(into: folder))
        #expect(good.databaseType == "Canopy-Test-Country")
        #expect(good.ipVersion == 6)
    }
}
