import Foundation
import Testing

@testable import CanopyStore

@Suite struct DeploymentIDAndTypeTests {
    @Test func deploymentIDsSortByTimeAreUniqueAndDNSSafe() throws {
        let base = Date(timeIntervalSince1970: 1_763_931_130)  // 2025-11-23 20:52:10 UTC
        let first = DeploymentStore.newDeploymentID(date: base)
        #expect(first.hasPrefix("d20251123205210"))
        #expect(first.count == 21)

        let dates = (0..<50).map { base.addingTimeInterval(Double($0 * $0) * 3_601 + Double($0)) }
        let ids = dates.map { DeploymentStore.newDeploymentID(date: $0) }
        #expect(ids.sorted() == ids)

        let sameSecond = (0..<2000).map { _ in DeploymentStore.newDeploymentID(date: base) }
        #expect(Set(sameSecond).count == sameSecond.count)

        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789")
        for id in ids + sameSecond {
            #expect(id.allSatisfy { allowed.contains($0) })
            #expect(id.first == "d")
        }
    }

    @Test func contentTypesByExtension() {
        let expected: [String: String] = [
            "index.html": "text/html; charset=utf-8",
            "a/b/style.CSS": "text/css; charset=utf-8",
            "app.js": "text/javascript; charset=utf-8",
            "mod.mjs": "text/javascript; charset=utf-8",
            "data.json": "application/json; charset=utf-8",
            "app.js.map": "application/json; charset=utf-8",
            "feed.xml": "application/xml; charset=utf-8",
            "robots.txt": "text/plain; charset=utf-8",
            "logo.svg": "image/svg+xml; charset=utf-8",
            "p.png": "image/png", "p.jpg": "image/jpeg", "p.jpeg": "image/jpeg", "p.gif": "image/gif",
            "p.webp": "image/webp", "p.avif": "image/avif", "favicon.ico": "image/x-icon",
            "f.woff": "font/woff", "f.woff2": "font/woff2", "f.ttf": "font/ttf", "f.otf": "font/otf",
            "f.eot": "application/vnd.ms-fontobject", "doc.pdf": "application/pdf",
            "v.mp4": "video/mp4", "v.webm": "video/webm", "a.mp3": "audio/mpeg", "a.wav": "audio/wav",
            "a.ogg": "audio/ogg", "m.wasm": "application/wasm", "z.zip": "application/zip",
            "z.gz": "application/gzip", "site.webmanifest": "application/manifest+json; charset=utf-8",
            "t.csv": "text/csv; charset=utf-8", "README.md": "text/markdown; charset=utf-8",
            "c.yaml": "application/yaml; charset=utf-8", "c.yml": "application/yaml; charset=utf-8",
            "noextension": "application/octet-stream", "x.unknownext": "application/octet-stream",
            ".htaccess": "application/octet-stream", "dir.html/file": "application/octet-stream",
        ]
        for (path, type) in expected {
            #expect(ContentType.forPath(path) == type, "\(path)")
        }
    }

    @Test func compressibility() {
        for path in ["a.html", "a.css", "a.js", "a.json", "a.svg", "a.xml", "a.txt", "a.wasm", "a.ttf", "a.ico"] {
            #expect(Compressibility.isCompressible(contentType: ContentType.forPath(path)), "\(path)")
        }
        for path in ["a.png", "a.jpg", "a.woff2", "a.mp4", "a.zip", "a.gz", "a.pdf", "a.bin"] {
            #expect(!Compressibility.isCompressible(contentType: ContentType.forPath(path)), "\(path)")
        }
    }
}
