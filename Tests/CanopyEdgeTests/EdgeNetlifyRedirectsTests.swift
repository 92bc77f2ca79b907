import CanopyEdge
import CanopySpec
import Foundation
import Testing

/// Serves `files` (with their rule files) at `site.test` on a real edge on loopback, with the
/// GeoIP database `geoIP` if one is given.
func withRulesSite(
    _ files: [String: String], rules: SiteRules = SiteRules(), geoIP: GeoIPDatabase? = nil,
    _ body: (EdgeFixture) async throws -> Void
)
    async throws
{
    let fixture = try EdgeFixture(geoIP: geoIP)
    let deployment = try fixture.deploy("d1", files, rules: rules)
    try await fixture.start([
        HostRoute(
            hostname: "site.test", site: "site", environment: "main",
            targets: [RouteTarget(label: "main", weight: 1, deployment: deployment)])
    ])
    do {
        try await body(fixture)
    } catch {
        try await fixture.server.shutdown()
        throw error
    }
    try await fixture.server.shutdown()
}

/// Netlify `_redirects` semantics over real HTTP. Inputs are Netlify's documented examples
/// (docs.netlify.com/routing/redirects/redirect-options and …/redirects/overview) and the fixtures of
/// its parser (netlify/build, packages/redirect-parser/tests/fixtures/redirects_file).
@Suite struct EdgeNetlifyRedirectsTests {
    static let pages: [String: String] = [
        "index.html": "home",
        "admin/panel.html": "admin panel",
        "store-closed.html": "closed",
        "gone.html": "gone page",
        "exists.html": "a real file",
        "news.html": "news",
        "about.html": "about",
        "blog/hello.html": "hello post",
        "en/index.html": "english",
        "fr/index.html": "french",
    ]

    /// Fixture `to_path_forward` (`/admin/* 200`): the path is served as it is, not redirected to "200".
    @Test func forwardRuleServesThePathItself() async throws {
        var files = Self.pages
        files["_redirects"] = "/admin/* 200!\n"
        try await withRulesSite(files) { f in
            let c = try f.client()
            let page = try c.request("GET", "/admin/panel")
            #expect(page.status == 200)
            #expect(page.text == "admin panel")
            #expect(page.header("location") == nil)
            #expect(try c.request("GET", "/admin/none").status == 404)
        }
    }

    /// A line without a target (fixture `invalid_no_to_status`) is dropped: the file is served.
    @Test func lineWithoutTargetIsDropped() async throws {
        var files = Self.pages
        files["_redirects"] = "/nothing 301\n/news /about 302!\n"
        try await withRulesSite(files) { f in
            let c = try f.client()
            let nothing = try c.request("GET", "/nothing")
            #expect(nothing.status == 404)
            #expect(nothing.header("location") == nil)
            #expect(try c.request("GET", "/news").header("location") == "/about")
        }
    }

    /// docs: "/ecommerce /store-closed 404" shows the page with 404; a forced `404!` does so even
    /// where a file exists (shadowing), an unforced one only where none does.
    @Test func forced404ShadowsAnExistingFile() async throws {
        var files = Self.pages
        files["_redirects"] = "/ecommerce /store-closed 404\n/exists /store-closed 404!\n/about /store-closed 404\n"
        try await withRulesSite(files) { f in
            let c = try f.client()
            let closed = try c.request("GET", "/ecommerce")
            #expect(closed.status == 404)
            #expect(closed.text == "closed")
            let shadowed = try c.request("GET", "/exists")
            #expect(shadowed.status == 404)
            #expect(shadowed.text == "closed")
            let kept = try c.request("GET", "/about")
            #expect(kept.status == 200)
            #expect(kept.text == "about")
        }
    }

    /// Status 410 (and others Netlify passes through): the target's content with that status.
    @Test func status410ServesTheTargetWithIt() async throws {
        var files = Self.pages
        files["_redirects"] = "/old-product /gone.html 410\n/missing-page /nothing-here.html 410\n"
        try await withRulesSite(files) { f in
            let c = try f.client()
            let gone = try c.request("GET", "/old-product")
            #expect(gone.status == 410)
            #expect(gone.text == "gone page")
            #expect(try c.request("GET", "/missing-page").status == 410)
        }
    }

    /// docs "Query parameters": `/store id=:id /blog/:id 301`; fixture `query` (`/ page=news /news`);
    /// docs "Splats" (`/news/*  /blog/:splat`) and "Placeholders"
    /// (`/news/:year/:month/:date/:slug  /blog/:year/:month/:date/:slug`).
    @Test func queryMatchesPlaceholdersAndSplats() async throws {
        var files = Self.pages
        files["_redirects"] = """
            /store id=:id /blog/:id 301
            /      page=news      /news 200!
            /news/:year/:month/:date/:slug  /blog/:year/:month/:date/:slug
            /news/*  /blog/:splat
            """
        try await withRulesSite(files) { f in
            let c = try f.client()
            let store = try c.request("GET", "/store?id=my-blog-post")
            #expect(store.status == 301)
            #expect(store.header("location")?.hasPrefix("/blog/my-blog-post") == true)
            #expect(try c.request("GET", "/store").status == 404)  // the parameter is required
            let news = try c.request("GET", "/?page=news")
            #expect(news.status == 200)
            #expect(news.text == "news")
            #expect(try c.request("GET", "/?page=other").text == "home")
            let placeholder = try c.request("GET", "/news/2004/01/10/my-story")
            #expect(placeholder.header("location") == "/blog/2004/01/10/my-story")
            let splat = try c.request("GET", "/news/a/b")
            #expect(splat.header("location") == "/blog/a/b")
        }
    }

    /// docs "Redirect by country or language": `/  /fr  302  Language=fr`. Canopy evaluates Language
    /// against Accept-Language; without a matching language the next rule applies.
    @Test func languageConditionMatchesAcceptLanguage() async throws {
        var files = Self.pages
        files["_redirects"] = "/  /fr/  302!  Language=fr\n/  /en/  302!\n"
        try await withRulesSite(files) { f in
            let c = try f.client()
            let french = try c.request("GET", "/", headers: ["Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"])
            #expect(french.header("location") == "/fr/")
            // The answer depends on Accept-Language: caches must key on it.
            #expect(french.header("vary") == "Accept-Language")
            let english = try c.request("GET", "/", headers: ["Accept-Language": "en-US, fr;q=0"])
            #expect(english.header("location") == "/en/")
            #expect(english.header("vary") == "Accept-Language")
            #expect(try c.request("GET", "/").header("location") == "/en/")
        }
    }

    /// docs "Redirect by cookie presence": `/*  /cookie-present  302!  Cookie=ab_test,other` applies
    /// when one of the named cookies is sent, whatever its value.
    @Test func cookieConditionMatchesCookiePresence() async throws {
        var files = Self.pages
        files["cookie-present.html"] = "with cookie"
        files["_redirects"] = "/news  /cookie-present  200!  Cookie=ab_test,other\n"
        try await withRulesSite(files) { f in
            let c = try f.client()
            let with = try c.request("GET", "/news", headers: ["Cookie": "theme=dark; other=1"])
            #expect(with.text == "with cookie")
            #expect(with.all("vary").contains("Cookie"))  // beside the file's own Vary: Accept-Encoding
            let without = try c.request("GET", "/news", headers: ["Cookie": "theme=dark; ab_test_x=1"])
            #expect(without.text == "news")
            #expect(try c.request("GET", "/news").text == "news")
        }
    }
}
