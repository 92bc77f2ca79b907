import Testing

@testable import CanopySpec

@Suite("RulesSpec")
struct RulesSpecTests {
    static let spa = #"</^[^.]+$|\.(?!(css|gif|ico|jpg|js|png|txt|svg|woff|woff2|ttf|map|json|webp)$)([^.]+$)/>"#

    @Test("redirects.json: every status, amplify and regex sources, line numbers")
    func amplifyRedirects() throws {
        let json = """
            [
              {"source": "/<*>", "target": "/index.html", "status": "404-200", "condition": null},
              {"source": "/old", "target": "/new", "status": "301"},
              {"source": "/tmp", "target": "/new", "status": "302"},
              {"source": "/api/<*>", "target": "https://api.example.com/<*>", "status": "200"},
              {"source": "/gone", "target": "/404.html", "status": "404"},
              {"source": "\(Self.spa.replacingOccurrences(of: "\\", with: "\\\\"))", "target": "/index.html", "status": "200"},
              {"source": "/uk", "target": "/en-gb", "status": "302", "condition": null}
            ]
            """
        let rules = try RulesSpec.parseAmplifyRedirects(json: json, file: "redirects.json")
        #expect(
            rules.map(\.status) == [
                .notFoundRewrite, .redirect(301), .redirect(302), .rewrite, .notFound, .rewrite, .redirect(302),
            ])
        #expect(rules.map(\.location?.line) == [2, 3, 4, 5, 6, 7, 8])
        #expect(rules[0].syntax == .amplify)
        #expect(rules[0].countries.isEmpty)
        let spa = rules[5]
        #expect(spa.syntax == .regex)
        #expect(spa.source == String(Self.spa.dropFirst(2).dropLast(2)))
        #expect(spa.source.hasPrefix("^[^.]+$|"))
        let regex = try Regex(spa.source)
        #expect("/about".contains(regex))
        #expect(!"/app.js".contains(regex))
    }

    /// Amplify's "Region-based redirects" example (docs.aws.amazon.com/amplify/latest/userguide/
    /// redirect-rewrite-examples.html): `{"source": "/documents", "status": "302", "target":
    /// "/documents/us/", "condition": "<US>"}`. Without a GeoIP database it is refused at the line of
    /// its condition; with one its country is kept. A condition that is no country code is an error.
    @Test("redirects.json: condition <US> needs --geoip; with it the country is kept")
    func amplifyCountryCondition() throws {
        let json = """
            [
              {"source": "/documents", "status": "302", "target": "/documents/us/",
               "condition": "<US>"},
              {"source": "/other", "status": "302", "target": "/b", "condition": ""}
            ]
            """
        let refused = try #require(throws: SpecError.self) {
            try RulesSpec.parseAmplifyRedirects(json: json, file: "redirects.json")
        }
        #expect(refused.diagnostics.map(\.location.line) == [3])
        #expect(refused.description.contains("condition '<US>' without a GeoIP database"))
        #expect(refused.description.contains("--geoip FILE"))
        let geoIP = RuleCapabilities(geoIP: true)
        let rules = try RulesSpec.parseAmplifyRedirects(json: json, file: "redirects.json", capabilities: geoIP)
        #expect(rules.map(\.countries) == [["US"], []])
        #expect(
            try RulesSpec.parseAmplifyRedirects(
                json: #"[{"source": "/a", "target": "/b", "status": "302", "condition": "de"}]"#,
                file: "redirects.json",
                capabilities: geoIP
            ).map(\.countries) == [["DE"]])
        let bad = try #require(throws: SpecError.self) {
            try RulesSpec.parseAmplifyRedirects(
                json: #"[{"source": "/a", "target": "/b", "status": "302", "condition": "<US,CA>"}]"#,
                file: "redirects.json", capabilities: geoIP)
        }
        #expect(bad.description.contains("not a country code"))
    }

    /// A Sites file's `redirects:` are Amplify rules: the same `condition`, the same capability.
    @Test("Sites file: a redirect's condition needs --geoip, at its line")
    func sitesFileCountryCondition() throws {
        let yaml = """
            repository: /srv/site.git
            redirects:
              - source: /documents
                target: /documents/de/
                status: '302'
                condition: <DE>
            """
        let refused = try #require(throws: SpecError.self) {
            try SitesSpec.parse(yaml, file: "Sites/site.yml", siteName: "site", baseDirectory: "/")
        }
        #expect(refused.diagnostics.map(\.location.line) == [6])
        #expect(refused.description.contains("--geoip FILE"))
        let site = try SitesSpec.parse(
            yaml, file: "Sites/site.yml", siteName: "site", baseDirectory: "/",
            capabilities: RuleCapabilities(geoIP: true))
        #expect(site.redirects.map(\.countries) == [["DE"]])
    }

    @Test("redirects.json: a bad status is an error at its rule's line")
    func badStatus() throws {
        let json =
            "[\n  {\"source\": \"/a\", \"target\": \"/b\", \"status\": \"301\"},\n  {\"source\": \"/c\", \"target\": \"/d\", \"status\": \"418\"}\n]"
        let failure = try #require(throws: SpecError.self) {
            try RulesSpec.parseAmplifyRedirects(json: json, file: "redirects.json")
        }
        #expect(failure.diagnostics.map(\.location.line) == [3])
        #expect(failure.description.contains("418"))
    }

    @Test("redirects.json: a regex that does not compile is an error")
    func badRegex() throws {
        let json = "[\n  {\"source\": \"</(unclosed/>\", \"target\": \"/b\", \"status\": \"200\"}\n]"
        let failure = try #require(throws: SpecError.self) {
            try RulesSpec.parseAmplifyRedirects(json: json, file: "redirects.json")
        }
        #expect(failure.diagnostics.map(\.location.line) == [2])
        #expect(failure.description.contains("regular expression"))
    }

    @Test("redirects.json: invalid JSON and non-arrays are errors with a line")
    func invalidJSON() throws {
        let broken = try #require(throws: SpecError.self) {
            try RulesSpec.parseAmplifyRedirects(
                json: "[\n  {\"source\": \"/a\",\n  \"target\": \"/b\"\n", file: "redirects.json")
        }
        #expect((broken.diagnostics.first?.location.line ?? 0) > 1)
        let object = try #require(throws: SpecError.self) {
            try RulesSpec.parseAmplifyRedirects(json: "{\"source\": \"/a\"}", file: "redirects.json")
        }
        #expect(object.description.contains("array"))
        let noTarget = try #require(throws: SpecError.self) {
            try RulesSpec.parseAmplifyRedirects(json: "[{\"source\": \"/a\"}]", file: "redirects.json")
        }
        #expect(noTarget.description.contains("target"))
    }

    @Test("customHttp.yml")
    func customHTTP() throws {
        let yaml = """
            customHeaders:
              - pattern: '**/*'
                headers:
                  - key: Strict-Transport-Security
                    value: max-age=31536000
                  - key: X-Content-Type-Options
                    value: nosniff
              - pattern: '*.json'
                headers:
                  - key: Cache-Control
                    value: no-cache
            """
        let rules = try RulesSpec.parseCustomHTTP(yaml: yaml, file: "customHttp.yml")
        #expect(rules.map(\.pattern) == ["**/*", "*.json"])
        #expect(rules[0].headers.map(\.name) == ["Strict-Transport-Security", "X-Content-Type-Options"])
        #expect(rules[1].headers == [HeaderField(name: "Cache-Control", value: "no-cache")])
        #expect(rules.map(\.location?.line) == [2, 8])
        let badName = try #require(throws: SpecError.self) {
            try RulesSpec.parseCustomHTTP(
                yaml: "customHeaders:\n  - pattern: '*'\n    headers:\n      - key: 'Bad Name'\n        value: x\n",
                file: "c.yml")
        }
        #expect(badName.diagnostics.map(\.location.line) == [4])
        let other = try #require(throws: SpecError.self) {
            try RulesSpec.parseCustomHTTP(yaml: "headers: []\n", file: "c.yml")
        }
        #expect(other.diagnostics.map(\.location.line) == [1])
    }

    @Test("_redirects: splats, placeholders, forcing, query matches, default 301, comments")
    func netlifyRedirects() throws {
        let text = """
            # comment line
            /blog/*        /news/:splat
            /users/:id     /profile/:id   200
            /old           /new           302!
            /store  id=:id  /items/:id    301
            /*             /index.html    200   # SPA

            /missing       /404.html      404
            """
        let rules = try RulesSpec.parseNetlifyRedirects(text, file: "_redirects")
        #expect(rules.map(\.source) == ["/blog/*", "/users/:id", "/old", "/store", "/*", "/missing"])
        #expect(
            rules.map(\.target) == ["/news/:splat", "/profile/:id", "/new", "/items/:id", "/index.html", "/404.html"])
        #expect(rules.map(\.status) == [.redirect(301), .rewrite, .redirect(302), .redirect(301), .rewrite, .notFound])
        #expect(rules.map(\.force) == [false, false, true, false, false, false])
        #expect(rules[3].queryMatches == ["id": ":id"])
        #expect(rules.map(\.location?.line) == [2, 3, 4, 5, 6, 8])
        #expect(rules.allSatisfy { $0.syntax == .netlify })
    }

    @Test("_redirects: a bad status is an error at its line; a missing target is not")
    func netlifyErrors() throws {
        let failure = try #require(throws: SpecError.self) {
            try RulesSpec.parseNetlifyRedirects("/a /b 301\n/c /d 999\n/e\n", file: "_redirects")
        }
        #expect(failure.diagnostics.map(\.location.line) == [2])
        #expect(failure.diagnostics[0].message.contains("999"))
        #expect(failure.diagnostics[0].location.column == 7)
    }

    /// Found by the netlify-redirects fuzz target: a query match with no name (`=x`, `=`) crashed
    /// the parser (an index out of range) and so the build.
    @Test("_redirects: a query match without a parameter name is an error at its line, not a crash")
    func netlifyUnnamedQueryMatch() throws {
        let failure = try #require(throws: SpecError.self) {
            try RulesSpec.parseNetlifyRedirects("/a /b 301\n/search = /find 200\n/s =x /f\n", file: "_redirects")
        }
        #expect(failure.diagnostics.map(\.location.line) == [2, 3])
        #expect(failure.diagnostics[0].message.contains("names no parameter"))
    }

    @Test("_headers: path lines with headers; a header before any path is a warning")
    func netlifyHeaders() throws {
        let text = """
            # headers
            /*
              X-Frame-Options: DENY
              Link: </style.css>; rel=preload; as=style
            /assets/*
              Cache-Control: public, max-age=31536000, immutable
            """
        let rules = try RulesSpec.parseNetlifyHeaders(text, file: "_headers")
        #expect(rules.map(\.pattern) == ["/*", "/assets/*"])
        #expect(
            rules[0].headers == [
                HeaderField(name: "X-Frame-Options", value: "DENY"),
                HeaderField(name: "Link", value: "</style.css>; rel=preload; as=style"),
            ])
        #expect(rules[1].headers.first?.value == "public, max-age=31536000, immutable")
        #expect(rules.map(\.location?.line) == [2, 5])
        let early = try RulesSpec.readNetlifyHeaders("  X-A: b\n/*\n  X-B: c\n", file: "_headers")
        #expect(early.warnings.map(\.location.line) == [1])
        #expect(early.rules.flatMap(\.headers).map(\.name) == ["X-B"])
        #expect(try RulesSpec.parseNetlifyHeaders("/*\nX-A: b\n", file: "_headers")[0].headers.map(\.name) == ["X-A"])
    }

    /// Netlify ignores custom headers its servers set themselves (docs.netlify.com/routing/headers,
    /// Limitations: Content-Length, Location, Transfer-Encoding …): a warning at the line, not a rule.
    @Test("_headers and netlify.toml: server-set fields are warned about and dropped")
    func serverSetFields() throws {
        let parsed = try RulesSpec.readNetlifyHeaders(
            "/*\n  Content-Length: 3\n  X-A: b\n  location: /x\n", file: "_headers")
        #expect(parsed.rules.flatMap(\.headers).map(\.name) == ["X-A"])
        #expect(parsed.warnings.map(\.location.line) == [2, 4])
        #expect(parsed.warnings.last?.message.contains("redirect rule") == true)
        let toml = try RulesSpec.parseNetlifyTOML(
            "[[headers]]\n  for = \"/*\"\n  [headers.values]\n    Transfer-Encoding = \"chunked\"\n    X-B = \"c\"\n",
            file: "netlify.toml")
        #expect(toml.headers.flatMap(\.headers).map(\.name) == ["X-B"])
    }

    /// The same list for Amplify's files and the Sites file (Amplify documents none; a second
    /// Content-Length or a Transfer-Encoding would break a response's framing): a server-set field in
    /// customHttp.yml (both forms), amplify.yml's customHeaders or a Sites file's is dropped with a
    /// warning at its line, so a build log and `canopy validate` say it is ignored.
    @Test("customHttp.yml, amplify.yml, Sites file: server-set fields are warned about at their line and dropped")
    func serverSetFieldsInAmplifyFiles() throws {
        let customHTTP = """
            customHeaders:
              - pattern: '**'
                headers:
                  - key: X-Kept
                    value: 'yes'
                  - key: Content-Length
                    value: '3'
                  - key: transfer-encoding
                    value: chunked
            """
        let parsed = try RulesSpec.readCustomHTTP(yaml: customHTTP, file: "customHttp.yml")
        #expect(parsed.rules.flatMap(\.headers).map(\.name) == ["X-Kept"])
        #expect(
            parsed.warnings.map(\.description) == [
                "customHttp.yml:6:14: warning: header 'Content-Length' is set by the server itself; this rule's value is ignored",
                "customHttp.yml:8:14: warning: header 'transfer-encoding' is set by the server itself; this rule's value is ignored",
            ])
        let monorepo =
            "applications:\n  - appRoot: app\n    customHeaders:\n      - pattern: '**'\n        headers:\n          - key: Date\n            value: x\n"
        #expect(
            try RulesSpec.readCustomHTTP(yaml: monorepo, file: "customHttp.yml", appRoot: "app").warnings.map(
                \.location.line) == [6])
        let plan = try AmplifySpec.parse(
            "version: 1\nfrontend:\n  phases:\n    build:\n      commands: [make]\n  artifacts:\n    baseDirectory: out\n    files: ['**/*']\ncustomHeaders:\n  - pattern: '**'\n    headers:\n      - key: Connection\n        value: close\n",
            file: "amplify.yml", appRoot: nil)
        #expect(plan.customHeaders.flatMap(\.headers).isEmpty)
        #expect(plan.warnings.map(\.location.line) == [12])
        let site = try SitesSpec.parse(
            "repository: /srv/site.git\ncustomHeaders:\n  - pattern: '**'\n    headers:\n      - key: Content-Range\n        value: bytes 0-1/2\n      - key: X-Site\n        value: 'yes'\n",
            file: "Sites/site.yml", siteName: "site", baseDirectory: "/")
        #expect(site.headers.flatMap(\.headers).map(\.name) == ["X-Site"])
        #expect(
            site.warnings.map(\.description) == [
                "Sites/site.yml:5:14: warning: header 'Content-Range' is set by the server itself; this rule's value is ignored"
            ])
    }

    @Test("_redirects: a # inside a URL is a fragment, not a comment")
    func fragment() throws {
        let rules = try RulesSpec.parseNetlifyRedirects(
            "/app/*  https://example.com/#/app  200  # hash router\n", file: "_redirects")
        #expect(rules.map(\.target) == ["https://example.com/#/app"])
        #expect(rules.map(\.status) == [.rewrite])
    }

    @Test("_redirects and _headers with Windows line endings")
    func crlf() throws {
        let rules = try RulesSpec.parseNetlifyRedirects("/a /b 302\r\n/c /d 200\r\n", file: "_redirects")
        #expect(rules.map(\.status) == [.redirect(302), .rewrite])
        #expect(rules.map(\.location?.line) == [1, 2])
        let headers = try RulesSpec.parseNetlifyHeaders("/*\r\n  X-A: b\r\n/x\r\n  X-B: c\r\n", file: "_headers")
        #expect(headers.map(\.pattern) == ["/*", "/x"])
        #expect(
            headers.flatMap(\.headers) == [HeaderField(name: "X-A", value: "b"), HeaderField(name: "X-B", value: "c")])
    }

    @Test("redirects.json: statuses as numbers or padded strings")
    func statusForms() throws {
        let json =
            "[{\"source\": \"/a\", \"target\": \"/b\", \"status\": 302}, {\"source\": \"/c\", \"target\": \"/d\", \"status\": \" 301 \"}, {\"source\": \"/e\", \"target\": \"/f\"}]"
        let rules = try RulesSpec.parseAmplifyRedirects(json: json, file: "redirects.json")
        #expect(rules.map(\.status) == [.redirect(302), .redirect(301), .redirect(301)])
        #expect(rules.map(\.force) == [true, true, true])
    }
}
