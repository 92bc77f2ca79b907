import CanopyEdge
import CanopySpec
import Foundation
import Testing

/// netlify.toml over HTTP, and custom headers on answers that are not files (redirects, 404s), as
/// Amplify and Netlify send them: Amplify applies customHttp.yml "to all responses" matching the
/// pattern (docs.aws.amazon.com/amplify/latest/userguide/custom-headers.html), Netlify matches
/// header rules against every request path (docs.netlify.com/routing/headers).
@Suite struct EdgeRuleHeadersTests {
    /// docs.netlify.com "Syntax for the Netlify configuration file": `[[redirects]]` and `[[headers]]`.
    @Test func netlifyTOMLRedirectsAndHeaders() async throws {
        let files = [
            "index.html": "home",
            "new-path.html": "new",
            "netlify.toml": """
            [[redirects]]
              from = "/old-path"
              to = "/new-path"
              status = 301
              force = false

            [[redirects]]
              from = "/app/*"
              to = "/index.html"
              status = 200

            [[headers]]
              for = "/*"
              [headers.values]
                X-Frame-Options = "DENY"
            """,
        ]
        try await withRulesSite(files) { f in
            let c = try f.client()
            let old = try c.request("GET", "/old-path")
            #expect(old.status == 301)
            #expect(old.header("location") == "/new-path")
            #expect(old.header("x-frame-options") == "DENY")
            let app = try c.request("GET", "/app/settings")
            #expect(app.text == "home")
            #expect(app.header("x-frame-options") == "DENY")
            #expect(try c.request("GET", "/netlify.toml").status == 404)
        }
    }

    /// Sites-file headers (Amplify's `customHeaders`) and customHttp.yml on a rule's redirect, the
    /// trailing-slash redirect, Canopy's own 404 and a site's 404.html, chosen by the requested path.
    @Test func customHeadersOnRedirectsAnd404s() async throws {
        let rules = SiteRules(headers: [
            HeaderRule(
                pattern: "**", headers: [HeaderField(name: "Strict-Transport-Security", value: "max-age=31536000")])
        ])
        let plain = [
            "index.html": "home",
            "docs/index.html": "docs",
            "_redirects": "/old /docs/ 301\n",
            "customHttp.yml": """
            customHeaders:
              - pattern: '/docs/**'
                headers:
                  - key: X-Docs
                    value: yes
                  - key: Cache-Control
                    value: max-age=31536000
            """,
        ]
        try await withRulesSite(plain, rules: rules) { f in
            let c = try f.client()
            let moved = try c.request("GET", "/old")
            #expect(moved.status == 301)
            #expect(moved.header("strict-transport-security") == "max-age=31536000")
            let slash = try c.request("GET", "/docs")
            #expect(slash.status == 301)
            #expect(slash.header("strict-transport-security") == "max-age=31536000")
            let missing = try c.request("GET", "/docs/nope")
            #expect(missing.status == 404)
            #expect(missing.header("strict-transport-security") == "max-age=31536000")
            #expect(missing.header("x-docs") == "yes")
            // A rule's long max-age is for files: a 404 stays uncached.
            #expect(missing.header("cache-control") == "no-store")
        }
        var withPage = plain
        withPage["404.html"] = "custom missing"
        try await withRulesSite(withPage, rules: rules) { f in
            let missing = try f.client().request("GET", "/docs/nope")
            #expect(missing.status == 404)
            #expect(missing.text == "custom missing")
            #expect(missing.header("x-docs") == "yes")
            #expect(missing.header("strict-transport-security") == "max-age=31536000")
        }
    }

    /// Amplify's globs keep matching the served file too: `*.html` reaches `/about` (about.html) and a
    /// SPA rewrite to `/index.html` gets index.html's rule, while Netlify rules see only the request.
    @Test func amplifyGlobsStillMatchTheServedFile() async throws {
        let files = [
            "index.html": "shell",
            "about.html": "about",
            "redirects.json": #"[{"source": "/app/<*>", "status": "200", "target": "/index.html", "condition": null}]"#,
            "customHttp.yml": """
            customHeaders:
              - pattern: '*.html'
                headers:
                  - key: X-Html
                    value: yes
              - pattern: '/index.html'
                headers:
                  - key: X-Shell
                    value: yes
            """,
            "_headers": "/index.html\n  X-Netlify-Shell: yes\n",
        ]
        try await withRulesSite(files) { f in
            let c = try f.client()
            #expect(try c.request("GET", "/about").header("x-html") == "yes")
            let deep = try c.request("GET", "/app/settings")
            #expect(deep.text == "shell")
            #expect(deep.header("x-shell") == "yes")
            #expect(deep.header("x-netlify-shell") == nil)
        }
    }

    /// Fields the server sets itself are not a rule's to set: Netlify ignores custom Content-Length,
    /// Transfer-Encoding, Location, Connection and the rest of its list (docs.netlify.com/routing/
    /// headers, Limitations), and so does Canopy for every source (Amplify documents no list; a
    /// second Content-Length or a Transfer-Encoding would break the framing, a second Location the
    /// redirect). The same file's other headers still apply, on files, redirects and 404s.
    @Test func serverSetFieldsAreNotARulesToSet() async throws {
        let files = [
            "index.html": "home",
            "_redirects": "/old /index.html 301\n",
            "_headers": "/*\n  Content-Length: 1\n  Location: /elsewhere\n  Connection: close\n  X-Kept: yes\n",
            "customHttp.yml": """
            customHeaders:
              - pattern: '**'
                headers:
                  - key: Transfer-Encoding
                    value: chunked
                  - key: X-Amplify
                    value: yes
            """,
        ]
        try await withRulesSite(files) { f in
            let c = try f.client()
            // Both answers on one connection: a wrong length or a stray `Connection: close` breaks the second.
            let page = try c.request("GET", "/index.html")
            #expect(page.text == "home")
            #expect(page.all("content-length") == ["4"])
            #expect(page.header("transfer-encoding") == nil)
            #expect(page.header("connection") == nil)
            #expect(page.header("x-kept") == "yes")
            #expect(page.header("x-amplify") == "yes")
            let moved = try c.request("GET", "/old")
            #expect(moved.status == 301)
            #expect(moved.all("location") == ["/index.html"])
            #expect(moved.header("x-kept") == "yes")
            let missing = try c.request("GET", "/nope")
            #expect(missing.status == 404)
            #expect(missing.all("content-length").count == 1)
            #expect(missing.header("x-kept") == "yes")
            #expect(try c.request("GET", "/index.html").text == "home")
        }
    }
    /// A Sites file's `customHeaders` with a field the server sets: a warning at its line when the
    /// file is read, and the answer keeps the server's own framing; the file's other headers apply.
    @Test func aSitesFilesServerSetFieldIsWarnedAboutAndNotServed() async throws {
        let site = try SitesSpec.parse(
            "repository: /srv/site.git\ncustomHeaders:\n  - pattern: '**'\n    headers:\n      - key: Content-Length\n        value: '1'\n      - key: X-Site\n        value: 'yes'\n",
            file: "Sites/site.yml", siteName: "site", baseDirectory: "/")
        #expect(site.warnings.map(\.location.description) == ["Sites/site.yml:5:14"])
        try await withRulesSite(["index.html": "home"], rules: SiteRules(headers: site.headers)) { f in
            let c = try f.client()
            let page = try c.request("GET", "/index.html")
            #expect(page.text == "home")
            #expect(page.all("content-length") == ["4"])
            #expect(page.header("x-site") == "yes")
            #expect(try c.request("GET", "/").text == "home")  // the same connection still frames
        }
    }
}
