import CanopyStore
import Foundation
import Logging
import Testing

@testable import CanopyControl

struct SiteCatalogTests {
    let logger = Logger(label: "test")

    func folder() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-catalog-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func aRefusedFileKeepsTheConfigurationInForce() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "repository: ../r.git\nbranches:\n  main: { domains: [a.test] }\n".write(
            toFile: dir + "/a.yml", atomically: true, encoding: .utf8)
        var catalog = SiteCatalog()
        let changed1 = catalog.reload(directory: dir, logger: logger)
        #expect(changed1)
        #expect(catalog.sites["a"]?.branches.first?.domains == ["a.test"])

        // Broken: refused with its line; the old configuration stays.
        try "repository: ../r.git\nbranches:\n  main: { domains: [a.test\n".write(
            toFile: dir + "/a.yml", atomically: true, encoding: .utf8)
        let changed2 = catalog.reload(directory: dir, logger: logger)
        #expect(!changed2)
        #expect(catalog.sites["a"]?.branches.first?.domains == ["a.test"])
        #expect(catalog.problems[dir + "/a.yml"]?.contains("a.yml:") == true)

        // Fixed: the new configuration takes over and the problem is gone.
        try "repository: ../r.git\nbranches:\n  main: { domains: [b.test] }\n".write(
            toFile: dir + "/a.yml", atomically: true, encoding: .utf8)
        let changed3 = catalog.reload(directory: dir, logger: logger)
        #expect(changed3)
        #expect(catalog.sites["a"]?.branches.first?.domains == ["b.test"])
        #expect(catalog.problems.isEmpty)
    }

    @Test func aHostnameClaimedByTwoSitesIsRefusedNamingBoth() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "repository: ../a.git\nbranches:\n  main: { domains: [shared.test] }\n".write(
            toFile: dir + "/a.yml", atomically: true, encoding: .utf8)
        try "repository: ../b.git\nbranches:\n  main: { domains: [shared.test] }\n".write(
            toFile: dir + "/b.yml", atomically: true, encoding: .utf8)
        var catalog = SiteCatalog()
        _ = catalog.reload(directory: dir, logger: logger)
        #expect(catalog.sites.count == 1)
        let problem = catalog.problems[dir + "/b.yml"] ?? ""
        #expect(problem.contains("shared.test"))
        #expect(problem.contains("a.yml") && problem.contains("b.yml"))
    }

    @Test func removingAFileRemovesTheSite() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "repository: ../a.git\nbranches:\n  main: { domains: [a.test] }\n".write(
            toFile: dir + "/a.yml", atomically: true, encoding: .utf8)
        var catalog = SiteCatalog()
        _ = catalog.reload(directory: dir, logger: logger)
        try FileManager.default.removeItem(atPath: dir + "/a.yml")
        let changed4 = catalog.reload(directory: dir, logger: logger)
        #expect(changed4)
        #expect(catalog.sites.isEmpty)
    }
}

struct ControlHelpersTests {
    @Test func skipCIMarkersAreRecognised() {
        #expect(Orchestrator.skipsCI("Fix typo [skip ci]"))
        #expect(Orchestrator.skipsCI("[CI SKIP] docs"))
        #expect(Orchestrator.skipsCI("chore [skip-cd]"))
        #expect(!Orchestrator.skipsCI("skip the ci step later"))
    }

    @Test func constantTimeComparisonIsExact() {
        #expect(constantTimeEqual("secret", "secret"))
        #expect(!constantTimeEqual("secret", "secreT"))
        #expect(!constantTimeEqual("secret", "secret2"))
        #expect(!constantTimeEqual("", "x"))
    }

    @Test func dashboardEscapesWhatItShows() {
        #expect(Dashboard.escape("<b a=\"x\">&'") == "&lt;b a=&quot;x&quot;&gt;&amp;&#39;")
    }

    @Test func formFieldsAreDecoded() {
        let fields = AdminAPI.formFields("target=site%2Fmain&note=a+b&empty=")
        #expect(fields == ["target": "site/main", "note": "a b", "empty": ""])
    }
}

extension SiteCatalogTests {
    /// Issue #15: a Sites file refused while running (it claims a hostname another site holds)
    /// must stay refused after a restart, even when its name sorts first.
    @Test func aConflictIsDecidedTheSameWayAfterARestart() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let claim = "repository: ../r.git\nbranches:\n  main: { domains: [shared.test] }\n"
        try claim.write(toFile: dir + "/zeta.yml", atomically: true, encoding: .utf8)
        var running = SiteCatalog()
        _ = running.reload(directory: dir, logger: logger)
        try claim.write(toFile: dir + "/alpha.yml", atomically: true, encoding: .utf8)
        _ = running.reload(directory: dir, logger: logger)
        #expect(Set(running.sites.keys) == ["zeta"])
        #expect(running.problems[dir + "/alpha.yml"]?.contains("already claimed by zeta") == true)

        // The restart: what was in force is recorded in the data folder and read back.
        let record = dir + "/sites-in-force"
        try SiteCatalog.writeInForce(Set(running.sites.keys), to: record)
        var restarted = SiteCatalog(incumbents: SiteCatalog.readInForce(record))
        _ = restarted.reload(directory: dir, logger: logger)
        #expect(Set(restarted.sites.keys) == ["zeta"], "the site in force keeps its hostname")
        #expect(restarted.problems[dir + "/alpha.yml"] != nil)

        // Without the record, the name that sorts first would win: the behaviour this prevents.
        var forgetful = SiteCatalog()
        _ = forgetful.reload(directory: dir, logger: logger)
        #expect(Set(forgetful.sites.keys) == ["alpha"])
    }
}
