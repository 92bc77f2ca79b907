import Foundation
import Testing

/// The admin API and the dashboard, end to end: authentication on every route, the OpenAPI file
/// against the router, actions changing what the edge serves, and a real browser on the dashboard.
@Suite(.serialized)
struct DashboardTests {
    /// Routes documented in openapi.yaml, as (method, path with sample parameters, needs the admin token).
    static func documentedRoutes() throws -> [(method: String, path: String, admin: Bool)] {
        let text = try String(
            contentsOfFile: packageRoot + "/Sources/CanopyControl/Admin/openapi.yaml", encoding: .utf8)
        var routes: [(String, String, Bool)] = []
        var current = ""
        var inPaths = false
        var method = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            if inPaths && !line.hasPrefix(" ") && !line.isEmpty { inPaths = false }
            guard inPaths else { continue }
            if line.hasPrefix("  /") { current = String(line.dropFirst(2).dropLast()); continue }
            if let m = ["get", "post", "delete"].first(where: { line == "    \($0):" }) {
                method = m.uppercased()
                routes.append((method, current, true))
            }
            if line.trimmingCharacters(in: .whitespaces) == "security: []" { routes[routes.count - 1].2 = false }
        }
        return routes.map { r in
            var path = r.0 == "" ? r.1 : r.1
            for (name, value) in [
                "{site}": "site", "{branch}": "main", "{id}": "nope", "{hostname}": "site.test", "{action}": "pin",
            ] {
                path = path.replacingOccurrences(of: name, with: value)
            }
            return (r.0, path, r.2)
        }
    }

    /// The status shown in the builds table's row for a commit.
    static func buildRowStatus(_ html: String, commit: String) -> String? {
        for match in html.matches(of: /<tr class="build"[^>]*data-status="([a-z-]+)">(.*?)<\/tr>/) {
            if match.output.2.contains(String(commit.prefix(7))) { return String(match.output.1) }
        }
        return nil
    }

    @Test func everyRouteNeedsTheTokenAndEveryDocumentedRouteExists() async throws {
        let (canopy, _) = try await PushToDeployTests.deployedMain("api")
        let routes = try Self.documentedRoutes()
        #expect(routes.count >= 25)
        for route in routes where route.admin {
            let r = try TestHTTP.request(
                route.method, port: canopy.adminPort, path: route.path, host: "127.0.0.1",
                body: route.method == "GET" ? nil : Data("{}".utf8))
            #expect(r.status == 401, "\(route.method) \(route.path) answered \(r.status) without a token")
            let wrong = try canopy.admin(
                route.method, route.path, json: route.method == "GET" ? nil : "{}", token: "wrong")
            #expect(wrong.status == 401, "\(route.method) \(route.path) accepted a wrong token")
        }
        // Every documented route is one the server routes (no "no route" answer).
        for route in routes where route.admin && !route.path.hasSuffix("/events") && !route.path.contains("log") {
            let r = try canopy.admin(route.method, route.path, json: route.method == "GET" ? nil : "{}")
            #expect(!r.text.contains("no route"), "\(route.method) \(route.path) is documented but not routed")
        }
        // And an undocumented path is not served.
        #expect(try canopy.admin("GET", "/api/v1/nothing-here").status == 404)
    }

    @Test func actionsThroughTheAPIChangeWhatTheEdgeServesAndAreAudited() async throws {
        let (canopy, repo) = try await PushToDeployTests.deployedMain("actions")
        let first = try canopy.get("site.test").header("X-Canopy-Deployment")!
        try repo.edit("src/index.html", replacing: "Hello from branch", with: "Second on")
        try repo.commit("second")
        try repo.push("main")
        try await canopy.waitForContent("site.test", "Second on")
        let second = try canopy.get("site.test").header("X-Canopy-Deployment")!

        // Rollback via the API: the edge serves the first deployment, and main is pinned.
        let rolled = try canopy.admin("POST", "/api/v1/rollback", json: #"{"target":"site.test"}"#)
        #expect(rolled.status == 200)
        #expect(try canopy.get("site.test").header("X-Canopy-Deployment") == first)
        // Unpin: the newest deployment goes live again.
        #expect(try canopy.admin("POST", "/api/v1/unpin", json: #"{"target":"site/main"}"#).status == 200)
        #expect(try canopy.get("site.test").header("X-Canopy-Deployment") == second)
        // Split via the API, by deployment id.
        let split = try canopy.admin(
            "POST", "/api/v1/hostnames/site.test/split", json: #"{"targets":[{"target":"\#(first)","weight":1}]}"#)
        #expect(split.status == 200)
        #expect(try canopy.get("site.test").header("X-Canopy-Deployment") == first)
        #expect(try canopy.admin("DELETE", "/api/v1/hostnames/site.test/split").status == 200)
        #expect(try canopy.get("site.test").header("X-Canopy-Deployment") == second)
        // Trigger a build.
        #expect(try canopy.admin("POST", "/api/v1/builds", json: #"{"site":"site","branch":"main"}"#).status == 200)
        // Every action is in the audit log with before and after.
        let audit = try JSONSerialization.jsonObject(with: canopy.admin("/api/v1/audit").body) as? [[String: Any]] ?? []
        let actions = Set(audit.compactMap { $0["action"] as? String })
        #expect(actions.isSuperset(of: ["rollback", "unpin", "split", "split-clear", "build"]))
        #expect(
            audit.contains {
                $0["action"] as? String == "rollback" && $0["before"] as? String == second
                    && $0["after"] as? String == first
            })
        // Metrics need the token and count the edge's requests.
        #expect(try TestHTTP.request(port: canopy.adminPort, path: "/metrics", host: "127.0.0.1").status == 401)
        let metrics = try canopy.admin("/metrics").text
        #expect(metrics.contains("canopy_http_requests_total{"))
        #expect(metrics.contains("host=\"site.test\""))
        #expect(metrics.contains("canopy_builds_total"))
        #expect(metrics.contains("canopy_build_queue_length"))
    }

    @Test(.enabled(if: Browser.available, "needs chromium and chromium-driver (Scripts/test.sh installs them)"))
    func aBrowserSeesBranchesWatchesABuildAndRollsBack() async throws {
        let canopy = try CanopyInstance("browser")
        let repoA = try SiteRepository(in: canopy, name: "alpha")
        let repoB = try SiteRepository(in: canopy, name: "beta")
        try canopy.writeSite(
            "alpha",
            "repository: ../repos/alpha.git\nbranches:\n  main: { domains: [alpha.test] }\n  dev: { domains: [dev.alpha.test] }\n"
        )
        try canopy.writeSite("beta", "repository: ../repos/beta.git\nbranches:\n  main: { domains: [beta.test] }\n")
        try await canopy.start()
        let a1 = try repoA.commit("alpha main")
        try repoA.push("main")
        try repoA.checkout("dev", create: true)
        let aDev = try repoA.commit("alpha dev")
        try repoA.push("dev")
        try repoA.checkout("main")
        let b1 = try repoB.commit("beta main")
        try repoB.push("main")
        try await canopy.waitForContent("alpha.test", "main")
        try await canopy.waitForContent("dev.alpha.test", "dev")
        try await canopy.waitForContent("beta.test", "main")

        let browser = try await Browser()
        defer { browser.quit() }
        let admin = "http://127.0.0.1:\(canopy.adminPort)"
        try browser.open(admin + "/")
        try browser.screenshot("dashboard-1-sign-in")
        #expect(try browser.source.contains("admin token"))
        try browser.type("input[name=token]", canopy.adminToken)
        try browser.click("button[type=submit]")
        try await waitUntil("the dashboard after sign-in") { try browser.source.contains("alpha.test") }
        let page = try browser.source
        for text in [
            "alpha", "beta", "alpha.test", "dev.alpha.test", "beta.test", String(a1.prefix(7)), String(aDev.prefix(7)),
            String(b1.prefix(7)),
        ] {
            #expect(page.contains(text), "dashboard lacks \(text)")
        }
        try browser.screenshot("dashboard-2-sites")

        // A push with a slower build: the page shows it running, then passed, without a reload.
        try repoA.edit(
            "amplify.yml", replacing: "        - bash scripts/build.sh src dist",
            with: "        - sleep 3\n        - bash scripts/build.sh src dist")
        try repoA.edit("src/index.html", replacing: "Hello from branch", with: "Newest alpha on")
        let a2 = try repoA.commit("alpha slow")
        try repoA.push("main")
        try await waitUntil("the build to show as running", timeout: .seconds(60)) {
            Self.buildRowStatus(try browser.source, commit: a2) == "running"
        }
        try browser.screenshot("dashboard-3-running")
        try await waitUntil("the build to show as passed", timeout: .seconds(90)) {
            Self.buildRowStatus(try browser.source, commit: a2) == "succeeded"
        }
        try browser.screenshot("dashboard-4-passed")
        try await canopy.waitForContent("alpha.test", "Newest alpha on")

        // Rollback from the dashboard, confirming the dialog; the served content changes.
        try browser.click("tr[data-hostname='alpha.test'] form[action='/ui/rollback'] button")
        try browser.acceptAlert()
        try await waitUntil("alpha.test to serve the previous deployment") {
            try !canopy.get("alpha.test").text.contains("Newest alpha on")
        }
        try await waitUntil("the dashboard to show main as pinned") { try browser.source.contains("pinned") }
        try browser.screenshot("dashboard-5-rolled-back")
    }
}
