import CanopyEdge
import CanopySpec
import CanopyStore
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Text of `count` bytes that no other (seed) shares: letters from a small LCG, not compressible
/// enough to matter and served as application/octet-stream (no gzip variant).
func distinctBody(_ seed: String, count: Int) -> String {
    var state = UInt64(truncatingIfNeeded: seed.hashValue) | 1
    var bytes = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        bytes[i] = UInt8(97 + (state >> 33) % 26)
    }
    let prefix = Array(seed.utf8.prefix(count))
    bytes.replaceSubrange(0..<prefix.count, with: prefix)
    return String(decoding: bytes, as: UTF8.self)
}

func route(_ host: String, _ deployment: ServedDeployment) -> HostRoute {
    HostRoute(
        hostname: host, site: "site", environment: host,
        targets: [RouteTarget(label: "main", weight: 1, deployment: deployment)])
}

/// Descriptors this process has open on files under `folder` (other tests' sockets do not count).
func openDescriptors(under folder: String) -> Int {
    let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return fds.filter { fd in
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + fd))?.hasPrefix(folder) == true
    }.count
}

/// Starts `f` with `routes`, runs `body`, and shuts the edge down whatever happens.
func serving(_ f: EdgeFixture, _ routes: [HostRoute], _ body: () async throws -> Void) async throws {
    try await f.start(routes)
    do {
        try await body()
    } catch {
        try await f.server.shutdown()
        throw error
    }
    try await f.server.shutdown()
}

/// Requests `path` until the body cache counts a hit for it (the fill is a background read), at
/// most `tries` times; every answer must be `body`.
func requestUntilHit(
    _ f: EdgeFixture, _ c: RawHTTPClient, _ path: String, host: String, body: String, tries: Int = 500
) throws -> Bool {
    for _ in 0..<tries {
        let hits = f.server.bodyCache.stats.hits
        let response = try c.request("GET", path, host: host)
        #expect(response.status == 200)
        #expect(response.text == body)
        if f.server.bodyCache.stats.hits > hits { return true }
        usleep(2_000)
    }
    return false
}

/// The process-wide body cache (issue #13): one budget for every deployment, content-addressed,
/// evicted by use, never needed for a correct answer. Real store, real edge, real HTTP on loopback.
@Suite struct EdgeBodyCacheTests {
    static let budget = 1 << 20

    func fixture(budget: Int = budget, maxOpenBlobs: Int = 1024) throws -> EdgeFixture {
        try EdgeFixture { configuration in
            configuration.cacheSize = budget
            configuration.maxOpenBlobs = maxOpenBlobs
        }
    }

    /// 40 distinct 100 KiB files (4 MB) across 4 deployments against a 1 MiB budget, requested
    /// repeatedly with a hot set among them: every byte right, the cache never above its budget,
    /// and the hot files answered from memory.
    @Test func budgetHoldsUnderAWorkingSetLargerThanIt() async throws {
        let f = try fixture()
        var bodies: [String: [String: String]] = [:]
        var routes: [HostRoute] = []
        for d in 0..<4 {
            var files: [String: String] = [:]
            for i in 0..<10 { files["f\(i).bin"] = distinctBody("d\(d)-f\(i)", count: 100 << 10) }
            bodies["d\(d).test"] = files
            routes.append(route("d\(d).test", try f.deploy("d\(d)", files)))
        }
        try await serving(f, routes) {
            let c = try f.client()
            for round in 0..<3 {
                for (host, files) in bodies.sorted(by: { $0.key < $1.key }) {
                    for (path, body) in files.sorted(by: { $0.key < $1.key }) {
                        let response = try c.request("GET", "/" + path, host: host)
                        #expect(response.status == 200, "round \(round) \(host)/\(path)")
                        #expect(response.text == body, "round \(round) \(host)/\(path)")
                        #expect(f.server.bodyCache.stats.residentBytes <= Self.budget)
                    }
                    // Three hot files of d0, asked for between every other deployment's sweep.
                    for i in 0..<3 {
                        _ = try requestUntilHit(
                            f, c, "/f\(i).bin", host: "d0.test", body: bodies["d0.test"]!["f\(i).bin"]!)
                    }
                }
            }
            let stats = f.server.bodyCache.stats
            #expect(stats.peakResidentBytes <= Self.budget)
            #expect(stats.residentBytes > 0)
            #expect(stats.evictions > 0)
            #expect(stats.hits > 0)
            #expect(stats.misses >= 40)
        }
    }

    /// Two deployments with the same file hold its bytes once: entries are keyed by content hash.
    @Test func deploymentsSharingABlobHoldItOnce() async throws {
        let f = try fixture()
        let shared = distinctBody("shared", count: 100 << 10)
        let one = try f.deploy("one", ["shared.bin": shared, "own.txt": "one"])
        let two = try f.deploy("two", ["shared.bin": shared, "own.txt": "two"])
        try await serving(f, [route("one.test", one), route("two.test", two)]) {
            let c = try f.client()
            #expect(try requestUntilHit(f, c, "/shared.bin", host: "one.test", body: shared))
            // The other deployment's first request is already a hit: the bytes are the same entry's.
            let hits = f.server.bodyCache.stats.hits
            let response = try c.request("GET", "/shared.bin", host: "two.test")
            #expect(response.text == shared)
            let stats = f.server.bodyCache.stats
            #expect(stats.hits == hits + 1)
            #expect(stats.residentBlobs == 1)
            #expect(stats.residentBytes == 100 << 10)
            #expect(stats.fills == 1)
        }
    }

    /// A slow reader holds a long pipelined answer of a cached file while another connection's
    /// sweep evicts it: the answer stays byte-correct (responses keep the bytes they took).
    @Test func bodyEvictedMidServeStillServesCorrectly() async throws {
        let f = try fixture()
        var files: [String: String] = [:]
        for i in 0..<16 { files["f\(i).bin"] = distinctBody("mid-f\(i)", count: 100 << 10) }
        try await serving(f, [route("mid.test", try f.deploy("mid", files))]) {
            let sweeper = try f.client()
            #expect(try requestUntilHit(f, sweeper, "/f0.bin", host: "mid.test", body: files["f0.bin"]!))
            let slow = try f.client()
            let pipelined = 40  // 4 MB: more than the socket buffers and the edge's output limit hold
            try slow.send(String(repeating: RawHTTPClient.format("GET", "/f0.bin", host: "mid.test"), count: pipelined))
            let evictions = f.server.bodyCache.stats.evictions
            for _ in 0..<3 {
                for i in 1..<16 {
                    #expect(try sweeper.request("GET", "/f\(i).bin", host: "mid.test").text == files["f\(i).bin"]!)
                }
            }
            #expect(f.server.bodyCache.stats.evictions > evictions)
            for n in 0..<pipelined {
                let response = try slow.read()
                #expect(response.status == 200, "pipelined answer \(n)")
                #expect(response.text == files["f0.bin"]!, "pipelined answer \(n)")
            }
            #expect(f.server.bodyCache.stats.peakResidentBytes <= Self.budget)
        }
    }

    /// Large files (sent with sendfile) share one descriptor each, at most `maxOpenBlobs` stay
    /// open, and a descriptor the cache lets go while a slow client is still being sent the file
    /// stays open until that send is done.
    @Test func openBlobFilesAreBoundedAndOutliveTheirEviction() async throws {
        let f = try fixture(maxOpenBlobs: 2)
        var files: [String: String] = [:]
        // big0 is more than loopback's socket buffers take at once: its send is still going on
        // while the other files push its descriptor out of the cache.
        for i in 0..<8 { files["big\(i).bin"] = distinctBody("big-\(i)", count: i == 0 ? 24 << 20 : 1 << 20) }
        let a = try f.deploy("a", files)
        let b = try f.deploy("b", files)  // the same blobs: the same descriptors
        try await serving(f, [route("a.test", a), route("b.test", b)]) {
            let blobs = f.root + "/store/blobs/"
            #expect(openDescriptors(under: blobs) == 0)  // loading opens no file
            let slow = try f.client()
            try slow.send(RawHTTPClient.format("GET", "/big0.bin", host: "a.test"))
            let other = try f.client()
            for round in 0..<2 {
                for i in 1..<8 {
                    let host = round == 0 ? "a.test" : "b.test"
                    #expect(try other.request("GET", "/big\(i).bin", host: host).text == files["big\(i).bin"]!)
                    #expect(f.server.bodyCache.stats.openBlobs <= 2)
                }
            }
            // Two cached, and big0's while its send goes on.
            #expect(openDescriptors(under: blobs) <= 3)
            let response = try slow.read()
            #expect(response.status == 200)
            #expect(response.text == files["big0.bin"]!)
            #expect(f.server.bodyCache.stats.peakOpenBlobs <= 2)
            #expect(openDescriptors(under: blobs) <= 2)
        }
    }

    /// A blob file that is gone answers 500 (the store is damaged), not a broken connection.
    @Test func missingBlobFileIsA500() async throws {
        let f = try fixture()
        let deployment = try f.deploy("gone", ["index.html": "<p>here</p>", "lost.bin": "lost bytes"])
        try await serving(f, [route("gone.test", deployment)]) {
            let sha = try f.store.manifest(id: deployment.id).files["lost.bin"]!.sha256
            try FileManager.default.removeItem(atPath: f.store.blobPath(sha))
            let c = try f.client()
            #expect(try c.request("GET", "/lost.bin", host: "gone.test").status == 500)
            #expect(try c.request("GET", "/", host: "gone.test").text == "<p>here</p>")
        }
    }
}

/// `--cache-size` reads sizes as the build limits do (`ByteCount`), a bare number in bytes.
@Suite struct ByteSizeTests {
    @Test func parsesSizesAsWritten() {
        #expect(ByteCount.parse("256MiB", bareShift: 0) == 256 << 20)
        #expect(ByteCount.parse("1GiB", bareShift: 0) == 1 << 30)
        #expect(ByteCount.parse("64m", bareShift: 0) == 64 << 20)
        #expect(ByteCount.parse("10MB", bareShift: 0) == 10 << 20)
        #expect(ByteCount.parse("1048576", bareShift: 0) == 1 << 20)
        #expect(ByteCount.parse("1.5GiB", bareShift: 0) == 3 << 29)
        #expect(ByteCount.parse("lots", bareShift: 0) == nil)
        #expect(ByteCount.parse("", bareShift: 0) == nil)
        #expect(ByteCount.parse("-1MiB", bareShift: 0) == nil)
        #expect(ByteCount.format(256 << 20) == "256 MiB")
    }
}

/// Loading reads the manifest, not the files (issue #13): a 100,000-file deployment whose blobs
/// are not even in the store loads, activates and serves the one file that is there. Prints the
/// load and activation times (debug build; Scripts/bench.sh's figures are release).
@Suite struct EdgeActivationTests {
    @Test func loadingReadsTheManifestOnly() async throws {
        let f = try EdgeFixture()
        let present = try f.deploy("real", ["index.html": "<p>real</p>"])
        let real = try f.store.manifest(id: present.id).files["index.html"]!
        var entries: [String: FileEntry] = ["index.html": real]
        for i in 0..<100_000 {
            let hex = String(repeating: String(format: "%08x", i), count: 8)
            entries["section-\(i / 1000)/page-\(i).html"] = FileEntry(
                sha256: hex, size: 10_000, contentType: "text/html; charset=utf-8",
                gzip: BlobRef(sha256: String(hex.reversed()), size: 3_000))
        }
        let manifest = DeploymentManifest(
            id: "big", site: "site", branch: "main", commit: String(repeating: "b", count: 40), commitTime: Date(),
            createdAt: Date(), files: entries)
        let clock = ContinuousClock()
        var deployment: ServedDeployment?
        let load = try clock.measure {
            deployment = try ServedDeployment.load(
                manifest: manifest, storeRoot: f.root + "/store", siteRules: SiteRules(), cache: f.server.bodyCache)
        }
        try await serving(f, [route("small.test", present)]) {
            let activate = clock.measure { f.server.update(RoutingTable(routes: [route("big.test", deployment!)])) }
            print("100,000-file deployment: load \(load), activate \(activate) (debug build)")
            #expect(openDescriptors(under: f.root + "/store/blobs/") == 0)
            let c = try f.client()
            #expect(try c.request("GET", "/", host: "big.test").text == "<p>real</p>")
            #expect(try c.request("GET", "/section-3/page-3001.html", host: "big.test").status == 500)
        }
    }
}
