import Foundation
import Testing

/// The build log as operators read it: one file, the control plane's lines and the runner's in order.
@Suite(.serialized)
struct BuildLogTests {
    @Test func theControlPlanesFirstLinesSurviveTheBuild() async throws {
        let (canopy, _) = try await PushToDeployTests.deployedMain("log-head")
        let build = try #require(try canopy.builds(branch: "main").first)
        let lines = try buildLog(canopy, build).split(separator: "\n").map(String.init)
        // Written by the control plane before the runner opens the same file.
        #expect(lines.first?.contains("Canopy build \(build["id"] as? String ?? "?")") == true, "\(lines.prefix(3))")
        #expect(lines.dropFirst().first?.contains("Checking out") == true, "\(lines.prefix(3))")
        // Then the runner's lines, then the control plane's again, in that order.
        let phase = try #require(lines.firstIndex { $0.contains("## Starting phase") })
        let live = try #require(lines.firstIndex { $0.contains("is live.") })
        #expect(phase > 1 && live > phase)
    }
}
