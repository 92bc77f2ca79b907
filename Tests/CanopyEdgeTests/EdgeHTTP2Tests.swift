import CanopyEdge
import Foundation
import Testing

/// HTTP/2 over cleartext with prior knowledge (h2c), driven by real HTTP/2 clients: curl (one
/// request per connection) and nghttp (several streams on one connection).
@Suite struct EdgeHTTP2Tests {
    /// Runs a command; returns its standard output.
    func run(_ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return data
    }

    /// One h2c request with curl: (HTTP version, response headers, body).
    func curl(_ port: Int, _ path: String, _ extra: [String] = []) throws -> (String, [String: String], Data) {
        let dir = NSTemporaryDirectory() + "canopy-h2-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let version = try run(
            [
                "curl", "-s", "--http2-prior-knowledge", "-H", "Host: site.test", "-D", dir + "/headers", "-o",
                dir + "/body",
                "-w", "%{http_version}",
            ] + extra + ["http://127.0.0.1:\(port)\(path)"])
        var headers: [String: String] = [:]
        let headerText = (try? String(contentsOfFile: dir + "/headers", encoding: .utf8)) ?? ""
        for line in headerText.split(separator: "\r\n") {
            if line.hasPrefix("HTTP/") {
                headers[":status"] = String(line.split(separator: " ")[1])
            } else if let colon = line.firstIndex(of: ":") {
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                    in: .whitespaces)
            }
        }
        let body = (try? Data(contentsOf: URL(fileURLWithPath: dir + "/body"))) ?? Data()
        return (String(decoding: version, as: UTF8.self), headers, body)
    }

    /// The rule semantics hold over HTTP/2 too: Language= reads the `accept-language` field, a 410
    /// rule answers 410, and _headers match the requested path.
    @Test func netlifyRulesOverH2c() async throws {
        let files = [
            "index.html": "home",
            "gone.html": "gone page",
            "secure/page.html": "secure",
            "_redirects": "/  /fr/  302!  Language=fr\n/old /gone.html 410\n",
            "_headers": "/secure/page\n  X-Frame-Options: DENY\n",
        ]
        try await withRulesSite(files) { f in
            let french = try curl(f.port, "/", ["-H", "Accept-Language: fr-FR"])
            #expect(french.1[":status"] == "302")
            #expect(french.1["location"] == "/fr/")
            #expect(french.1["vary"] == "Accept-Language")
            let gone = try curl(f.port, "/old")
            #expect(gone.1[":status"] == "410")
            #expect(String(decoding: gone.2, as: UTF8.self) == "gone page")
            #expect(try curl(f.port, "/secure/page").1["x-frame-options"] == "DENY")
        }
    }

    @Test func filesHeadersAndStatusesOverH2c() async throws {
        try await withSite { f in
            let (version, headers, body) = try curl(f.port, "/logo.png")
            #expect(version == "2")
            #expect(headers[":status"] == "200")
            #expect(String(decoding: body, as: UTF8.self) == "PNGDATA")
            #expect(headers["etag"] != nil && headers["x-canopy-deployment"] != nil)
            #expect(headers["connection"] == nil)  // connection-specific fields are not allowed in HTTP/2

            let gzip = try curl(f.port, "/big.txt", ["-H", "Accept-Encoding: gzip"])
            #expect(gzip.1["content-encoding"] == "gzip" && gzip.1["vary"] == "Accept-Encoding")

            let missing = try curl(f.port, "/nope")
            #expect(missing.1[":status"] == "404")
            #expect(String(decoding: missing.2, as: UTF8.self).contains("custom missing"))

            let head = try curl(f.port, "/big.txt", ["-I"])
            #expect(head.1[":status"] == "200" && head.1["content-length"] == "1024")

            let range = try curl(f.port, "/big.txt", ["-H", "Range: bytes=0-3"])
            #expect(range.1[":status"] == "206" && String(decoding: range.2, as: UTF8.self) == "0123")

            let redirect = try curl(f.port, "/docs")
            #expect(redirect.1[":status"] == "301" && redirect.1["location"] == "/docs/")
        }
    }

    @Test func largeFilesAreSentWholeOverH2c() async throws {
        let fixture = try EdgeFixture()
        let big = String(repeating: "0123456789abcdefghijklmnopqrstuvwxyz", count: 30_000)  // > 1 MiB, sendfile
        let deployment = try fixture.deploy("big", ["big.bin": big])
        try await fixture.start([
            HostRoute(
                hostname: "site.test", site: "site", environment: "main",
                targets: [RouteTarget(label: "main", weight: 1, deployment: deployment)])
        ])
        let (version, headers, body) = try curl(fixture.port, "/big.bin")
        #expect(version == "2" && headers[":status"] == "200")
        #expect(body == Data(big.utf8))
        try await fixture.server.shutdown()
    }

    @Test func severalStreamsShareOneConnection() async throws {
        try await withSite { f in
            // nghttp sends all three requests at once on one connection, as concurrent streams.
            let output = String(
                decoding: try run([
                    "nghttp", "-nv", "-H", ":authority: site.test", "http://127.0.0.1:\(f.port)/logo.png",
                    "http://127.0.0.1:\(f.port)/nope", "http://127.0.0.1:\(f.port)/docs/",
                ]), as: UTF8.self)
            let statuses = output.split(separator: "\n").filter { $0.contains(":status:") }.map {
                String($0.split(separator: " ").last!)
            }
            #expect(statuses.sorted() == ["200", "200", "404"])
            #expect(output.contains("GOAWAY") && output.contains("NO_ERROR"))
            // The HTTP/1.1 listener still answers HTTP/1.1 on the same port.
            #expect(try f.client().request("GET", "/logo.png").text == "PNGDATA")
        }
    }
}
