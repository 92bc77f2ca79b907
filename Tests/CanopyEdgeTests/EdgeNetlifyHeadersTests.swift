import CanopyEdge
import CanopySpec
import Foundation
import Testing

/// Netlify `_headers` over real HTTP. docs.netlify.com/routing/headers: "the path can be a relative
/// path or an absolute URL … `*` wildcard … `:placeholder`", rules match the URL path requested; the
/// file layout is the one Netlify's parser reads (netlify/build, packages/headers-parser, fixtures
/// `success`, `multiple_values`, `invalid_value_string`, `no_colon`).
@Suite struct EdgeNetlifyHeadersTests {
    static let pages: [String: String] = [
        "index.html": "home",
        "secure/page.html": "secure page",
        "docs/index.html": "docs",
        "app/index.html": "spa shell",
        "blog/2024/post.html": "post",
        "style.css": "body{}",
    ]

    /// docs example: `/secure/page` with `X-Frame-Options: DENY`, served from `secure/page.html`.
    @Test func rulesMatchTheRequestedPathNotTheStoredFile() async throws {
        var files = Self.pages
        files["_headers"] = """
            /secure/page
              X-Frame-Options: DENY
            /secure/page.html
              X-Stored: file-path
            /docs/
              X-Docs: yes
            """
        try await withRulesSite(files) { f in
            let c = try f.client()
            let clean = try c.request("GET", "/secure/page")
            #expect(clean.text == "secure page")
            #expect(clean.header("x-frame-options") == "DENY")
            #expect(clean.header("x-stored") == nil)
            let stored = try c.request("GET", "/secure/page.html")
            #expect(stored.header("x-stored") == "file-path")
            #expect(stored.header("x-frame-options") == nil)
            #expect(try c.request("GET", "/docs/").header("x-docs") == "yes")
            #expect(try c.request("GET", "/docs/index.html").header("x-docs") == nil)
        }
    }

    /// A rewrite (`/app/* /app/index.html 200`) is answered with the headers of the path asked for.
    @Test func rewrittenPathsGetTheRequestedPathsHeaders() async throws {
        var files = Self.pages
        files["_redirects"] = "/app/*  /app/index.html  200\n"
        files["_headers"] = "/app/settings\n  X-Page: settings\n/app/index.html\n  X-Page: shell\n"
        try await withRulesSite(files) { f in
            let c = try f.client()
            let settings = try c.request("GET", "/app/settings")
            #expect(settings.text == "spa shell")
            #expect(settings.header("x-page") == "settings")
            #expect(try c.request("GET", "/app/index.html").header("x-page") == "shell")
        }
    }

    /// `*` crosses `/`; `:name` is one segment; case-insensitive; trailing slash optional.
    @Test func patternsAsNetlifyMatchesThem() async throws {
        var files = Self.pages
        files["_headers"] = """
            /blog/*
              X-Blog: any
            /blog/:year
              X-Year: one-segment
            /SECURE/Page/
              X-Case: insensitive
            /*.css
              X-Css: yes
            """
        try await withRulesSite(files) { f in
            let c = try f.client()
            let post = try c.request("GET", "/blog/2024/post")
            #expect(post.header("x-blog") == "any")
            #expect(post.header("x-year") == nil)
            #expect(try c.request("GET", "/secure/page").header("x-case") == "insensitive")
            #expect(try c.request("GET", "/style.css").header("x-css") == "yes")
            #expect(try c.request("GET", "/").header("x-blog") == nil)
        }
    }

    /// Fixture `multiple_values`: the same header twice in a block is joined with `, `; unindented
    /// header lines are read as Netlify reads them (its parser trims every line).
    @Test func repeatedHeadersJoinAndLayoutIsFree() async throws {
        var files = Self.pages
        files["_headers"] =
            "/*\nLink: </style.css>; rel=preload; as=style\n    Link: </app.js>; rel=preload; as=script\n"
        try await withRulesSite(files) { f in
            let link = try f.client().request("GET", "/").all("link")
            #expect(link == ["</style.css>; rel=preload; as=style, </app.js>; rel=preload; as=script"])
        }
    }
}
