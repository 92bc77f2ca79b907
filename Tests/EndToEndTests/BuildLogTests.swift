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
        // The last line says where the time went, phase by phase (issue #13).
        let timings = try #require(lines.last { $0.contains("Timings: ") }, "\(lines.suffix(3))")
        for phase in ["checkout ", "build ", "test ", "ingest ", "activate ", "(total "] {
            #expect(timings.contains(phase), "\(timings)")
        }
        #expect(lines.firstIndex { $0.contains("Timings: ") }! > live)
    }

    @Test func liveLinesArriveInTheOrderOfTheFile() async throws {
        let (canopy, repo) = try await PushToDeployTests.deployedMain("log-order")
        let fd = try connectLoopback(port: canopy.adminPort)
        defer { close(fd) }
        let request =
            "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(canopy.adminToken)\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        try repo.edit("src/index.html", replacing: "Hello from branch", with: "Streamed from branch")
        let commit = try repo.commit("Streamed")
        try repo.push("main")
        let build = try await waitForBuild(canopy, commit: commit, status: "succeeded")
        let id = try #require(build["id"] as? String)
        // The file's lines without their timestamps (`2026-11-23T21:05:48.123Z `).
        let file = try buildLog(canopy, build).split(separator: "\n").map { String($0.dropFirst(25)) }
        var streamed: [String] = []
        var text = ""
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(30)
        while streamed.count < file.count, Date() < deadline {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            text += String(decoding: buffer[0..<n], as: UTF8.self)
            streamed = text.split(separator: "\n").compactMap { line -> String? in
                guard line.hasPrefix("data: "),
                    let object = try? JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)),
                    let event = object as? [String: String], event["build"] == id
                else { return nil }
                return event["line"]
            }
        }
        // Every line, the control plane's and the runner's, in the order of the file.
        #expect(streamed == file)
    }
}
