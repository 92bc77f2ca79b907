import CanopyTestSupport
import Foundation
import Testing

/// Rule files through a real build and the real server: a line Netlify would drop is a warning in
/// the build log and the rest serves; a condition Canopy cannot evaluate fails the build at its line
/// and the last good deployment keeps serving.
@Suite(.serialized)
struct RuleFilesEndToEndTests {
    @Test func netlifyTOMLWarningsGoToTheBuildLogAndUnevaluableConditionsFailTheBuild() async throws {
        let (canopy, repo) = try await PushToDeployTests.deployedMain("netlifytoml")
        // Netlify's fixtures from_simple and invalid_no_to (netlify/build redirect-parser).
        try repo.write(
            "netlify.toml",
            """
            [[redirects]]
              from = "/old"
              to = "/"
              status = 301

            [[redirects]]
              from = "/no-target"
            """)
        let good = try repo.commit("netlify.toml")
        try repo.push("main")
        let build = try await waitForBuild(canopy, commit: good, status: "succeeded")
        let log = try buildLog(canopy, build)
        #expect(log.contains("## Warning: netlify.toml:6:1:"), "\(log)")
        try await waitUntil("the redirect to be served") { try canopy.get("site.test", "/old").status == 301 }
        #expect(try canopy.get("site.test", "/old").header("Location") == "/")

        // Fixture conditions_country_case: Country needs a GeoIP database, which this server (no --geoip) lacks.
        try repo.write(
            "netlify.toml",
            "[[redirects]]\n  from = \"/old-path\"\n  to = \"/new-path\"\n  conditions = {Country = [\"US\"]}\n")
        let country = try repo.commit("a Country condition")
        try repo.push("main")
        let failed = try await waitForBuild(canopy, commit: country, status: "failed")
        let error = failed["error"] as? String ?? ""
        #expect(error.contains("netlify.toml:4:1: error:") && error.contains("--geoip FILE"), "error was: \(error)")
        #expect(try canopy.get("site.test", "/old").status == 301)  // the last good deployment serves
    }
    /// `canopy serve --geoip FILE` (#14): the same Country rule builds, goes live and redirects only
    /// visitors the database places in the United States (curl from bound loopback addresses); the
    /// Sites file's own redirect with Amplify's `condition` (<DE>) is accepted by this server too.
    @Test func withGeoIPACountryRuleBuildsAndMatchesTheVisitorsCountry() async throws {
        let canopy = try CanopyInstance("geoip")
        let repo = try SiteRepository(in: canopy)
        let database = try GeoIPTestDatabase.write(into: canopy.root)
        try canopy.writeSite(
            "site",
            PushToDeployTests.sitesFile
                + "\nredirects:\n  - source: /documents\n    target: /documents/de/\n    status: '302'\n    condition: <DE>\n"
        )
        try await canopy.start(extraArguments: ["--geoip", database])
        // Netlify's fixture conditions_country_case.toml.
        try repo.write(
            "netlify.toml",
            "[[redirects]]\n  from = \"/old-path\"\n  to = \"/new-path\"\n  conditions = {Country = [\"US\"]}\n")
        let commit = try repo.commit("a Country condition")
        try repo.push("main")
        _ = try await waitForBuild(canopy, commit: commit, status: "succeeded")
        func answer(_ path: String, from source: String) throws -> String {
            try sh([
                "curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "--interface", source,
                "-H", "Host: site.test", "http://127.0.0.1:\(canopy.edgePort)\(path)",
            ])
        }
        try await waitUntil("the Country rule to be served") {
            try answer("/old-path", from: GeoIPTestDatabase.unitedStates).hasPrefix("301 ")
        }
        #expect(try answer("/old-path", from: GeoIPTestDatabase.unitedStates).hasSuffix("/new-path"))
        #expect(try answer("/old-path", from: GeoIPTestDatabase.germany).hasPrefix("404"))
        #expect(try answer("/documents", from: GeoIPTestDatabase.germany).hasSuffix("/documents/de/"))
        #expect(try answer("/documents", from: GeoIPTestDatabase.unitedStates).hasPrefix("404"))
        _ = try await canopy.stop()
    }
}
