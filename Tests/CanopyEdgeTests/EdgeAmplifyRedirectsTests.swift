import CanopyEdge
import CanopySpec
import Foundation
import Testing

/// Amplify redirects over real HTTP, with the examples of
/// docs.aws.amazon.com/amplify/latest/userguide/redirect-rewrite-examples.html as inputs.
@Suite struct EdgeAmplifyRedirectsTests {
    /// "Domain-specific redirects … `"source": "https://example.com"` (paths automatically appended)";
    /// the docs' `https://mydomain.com` → `https://www.mydomain.com/documents/` (302) example too.
    @Test func domainRedirectAppendsThePath() async throws {
        let files = [
            "index.html": "home",
            "redirects.json": """
            [
              {"source": "https://site.test", "status": "301", "target": "https://www.site.test", "condition": null}
            ]
            """,
        ]
        try await withRulesSite(files) { f in
            let c = try f.client()
            let about = try c.request("GET", "/about/team?x=1")
            #expect(about.status == 301)
            #expect(about.header("location") == "https://www.site.test/about/team?x=1")
            #expect(try c.request("GET", "/").header("location") == "https://www.site.test/")
        }
        let prefix = [
            "index.html": "home",
            "redirects.json": """
            [{"source": "https://site.test", "status": "302", "target": "https://www.site.test/documents/", "condition": null}]
            """,
        ]
        try await withRulesSite(prefix) { f in
            let moved = try f.client().request("GET", "/guide")
            #expect(moved.status == 302)
            #expect(moved.header("location") == "https://www.site.test/documents/guide")
        }
    }

    /// "Query strings and path parameters": `/docs?id=<my-blog-id-value>` → `/documents/<…>` (301).
    /// The value moves into the path; the query is not passed on. A rule without a query match still
    /// passes the query on.
    @Test func queryValueMatchDoesNotForwardTheQuery() async throws {
        let files = [
            "index.html": "home",
            "redirects.json": """
            [
              {"source": "/docs?id=<my-blog-id-value>", "status": "301", "target": "/documents/<my-blog-id-value>", "condition": null},
              {"source": "/docs/<*>", "status": "301", "target": "/documents/<*>", "condition": null}
            ]
            """,
        ]
        try await withRulesSite(files) { f in
            let c = try f.client()
            let byQuery = try c.request("GET", "/docs?id=my-post")
            #expect(byQuery.status == 301)
            #expect(byQuery.header("location") == "/documents/my-post")
            let byPath = try c.request("GET", "/docs/a?ref=x")
            #expect(byPath.header("location") == "/documents/a?ref=x")
        }
    }
}
