import CanopyStore
import CanopyTestSupport
import Foundation
import Logging
import Testing

@testable import CanopyControl

/// A rollout's health gate asks the new deployment each health path as a visitor's HEAD would be
/// answered: through `RuleProbe`, the same parser, responder and rules as `canopy-rules-test.yml`,
/// with no edge involved (the orchestrator here has a fake edge, which used to answer every probe 200).
struct HealthProbeTests {
    @Test func aHealthPathTheDeploymentDoesNotServeFailsTheGate() async throws {
        let folder = try TempFolder("health")
        let (orchestrator, data, blocking) = try ServiceShutdownTests().orchestrator(folder)
        let site = folder.path + "/site"
        try FileManager.default.createDirectory(atPath: site, withIntermediateDirectories: true)
        try "<p>ok</p>".write(toFile: site + "/index.html", atomically: true, encoding: .utf8)
        try "/old /index.html 301\n".write(toFile: site + "/_redirects", atomically: true, encoding: .utf8)
        _ = try DeploymentStore(root: data.store).ingest(
            directory: site, id: "d1", site: "s", branch: "main", commit: "c1", commitTime: Date())

        #expect(try await orchestrator.failingHealthPath("d1", paths: ["/", "/index.html", "/old"]) == nil)
        #expect(try await orchestrator.failingHealthPath("d1", paths: ["/", "/missing"]) == "/missing answered 404")
        try await blocking.shutdown()
    }
}
