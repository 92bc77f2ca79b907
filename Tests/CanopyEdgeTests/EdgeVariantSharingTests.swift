import CanopySpec
import Foundation
import Testing

@testable import CanopyEdge

/// Previews that share files share their served variants (issue #13: "RSS grows by under 2 MB per
/// additional preview that shares content"): the blob entry, the ETag and the head bytes of a file
/// two deployments have are one object in the process, and it goes when no deployment holds it.
@Suite struct EdgeVariantSharingTests {
    @Test func deploymentsThatShareAFileShareItsVariants() async throws {
        let f = try EdgeFixture()
        let page = "<p>" + String(repeating: "shared page ", count: 100) + "</p>"
        var main: ServedDeployment? = try f.deploy("main", ["index.html": page, "about.html": "<p>main</p>"])
        let preview = try f.deploy("preview", ["index.html": page, "about.html": "<p>preview</p>"])
        let mainIndex = try #require(main?.files["index.html"])
        let previewIndex = try #require(preview.files["index.html"])
        #expect(mainIndex !== previewIndex, "a deployment's files are its own (its Last-Modified, its id)")
        #expect(mainIndex.identity === previewIndex.identity)
        let gzip = try #require(mainIndex.gzip, "the page is compressible: it has a gzip variant")
        #expect(gzip === previewIndex.gzip)
        #expect(main?.files["about.html"]?.identity !== preview.files["about.html"]?.identity)
        // index: identity and gzip; each about.html: identity (too small to be worth a gzip variant).
        let live = f.server.bodyCache.variants.live
        #expect(live == 4)

        try await serving(f, []) {
            // (routes given here, not to `serving`, whose argument would hold main to the end)
            f.server.update(RoutingTable(routes: [route("main.test", main!), route("preview.test", preview)]))
            var c = try f.client()
            let fromMain = try c.request("GET", "/", host: "main.test", headers: ["Accept-Encoding": "gzip"])
            let fromPreview = try c.request("GET", "/", host: "preview.test", headers: ["Accept-Encoding": "gzip"])
            #expect(fromMain.status == 200)
            #expect(fromMain.header("etag") == fromPreview.header("etag"))
            #expect(fromMain.header("content-encoding") == "gzip")
            #expect(fromMain.header("x-canopy-deployment") == "main")
            #expect(fromPreview.header("x-canopy-deployment") == "preview")

            // main unloaded: the shared variants stay (preview holds them), main's own about.html goes.
            f.server.update(RoutingTable(routes: [route("preview.test", preview)]))
            main = nil
            // (a connection that served main may hold its last answer's deployment until it goes)
            c = try f.client()
            #expect(try c.request("GET", "/", host: "preview.test").text == page)
            var live = f.server.bodyCache.variants.live
            for _ in 0..<200 where live != 3 {
                usleep(10_000)
                live = f.server.bodyCache.variants.live
            }
            #expect(live == 3)
        }
    }
}
