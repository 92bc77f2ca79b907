import CanopyEdge
import CanopySpec
import Foundation
import Testing

/// What a hostile request must not be able to do (issue #15, items 5 and the medium ones): put a
/// header of its own into a response, amplify a response with ranges, route HTTP/2 by a Host that
/// contradicts `:authority`, or forge access log lines.
@Suite struct EdgeHardeningTests {
    @Test func redirectPlaceholdersCannotInjectHeaders() async throws {
        let rules = SiteRules(redirects: [
            RedirectRule(source: "/go/<*>", target: "/dest/<*>", status: .redirect(302), syntax: .amplify, force: true)
        ])
        try await withSite(rules: rules) { f in
            let c = try f.client()
            // A `_redirects` splat (`/blog/* /posts/:splat 302`): CR LF decoded from the path would
            // end the Location header and start a Set-Cookie of the visitor's choosing.
            let netlify = try c.request("GET", "/blog/%0D%0ASet-Cookie:%20x=1")
            #expect(netlify.status == 302)
            #expect(netlify.all("set-cookie").isEmpty)
            #expect(netlify.header("location") == "/posts/%0D%0ASet-Cookie:%20x=1")
            // An Amplify `<*>` rule, with a query kept as sent.
            let amplify = try c.request("GET", "/go/a%0D%0AX-Injected:%201?q=%0D%0A")
            #expect(amplify.status == 302)
            #expect(amplify.header("x-injected") == nil)
            #expect(amplify.header("location") == "/dest/a%0D%0AX-Injected:%201?q=%0D%0A")
            // Markup is encoded too (the redirect's small HTML body repeats the location).
            let markup = try c.request("GET", "/go/%3Cscript%3Ealert(1)%3C/script%3E%20%22")
            #expect(markup.header("location") == "/dest/%3Cscript%3Ealert(1)%3C/script%3E%20%22")
            #expect(!markup.text.contains("<script>"))
            // Plain targets are untouched.
            #expect(try c.request("GET", "/go/a/b").header("location") == "/dest/a/b")
        }
    }
}
