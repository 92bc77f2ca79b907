import Foundation
import Testing

/// `canopy logs` prints what a build wrote, and a build runs whatever its repository says: its
/// terminal escape sequences must be shown, never obeyed (issue #15, medium items).
@Suite(.serialized)
struct BuildLogTerminalTests {
    @Test func logsShowEscapeSequencesInsteadOfSendingThem() async throws {
        let canopy = try CanopyInstance("terminal")
        let repo = try SiteRepository(in: canopy, template: nil)
        try canopy.writeSite("site", "repository: ../repos/site.git\nbranches:\n  main: { domains: [site.test] }\n")
        try repo.write(
            "amplify.yml",
            """
            version: 1
            frontend:
              phases:
                build:
                  commands:
                    - mkdir -p dist && echo '<h1>escapes</h1>' > dist/index.html
                    - printf 'red \\033[31mtext\\033[0m title \\033]0;pwned\\007 back\\rline\\ttab c1 \\302\\233 end\\n'
              artifacts:
                baseDirectory: dist
                files:
                  - '**/*'
            """)
        try await canopy.start()
        let commit = try repo.commit("escapes")
        try repo.push("main")
        let build = try await waitForBuild(canopy, commit: commit, status: "succeeded")
        // The raw log (admin API) holds the bytes as the build wrote them ...
        #expect(try buildLog(canopy, build).contains("\u{1B}[31mtext"))
        // ... and the CLI prints them escaped: no ESC, BEL, CR or C1 control reaches the terminal.
        let printed = try canopy.cli(["logs", build["id"] as? String ?? ""])
        #expect(
            printed.contains(
                "red \\x1b[31mtext\\x1b[0m title \\x1b]0;pwned\\x07 back\\x0dline\ttab c1 \\xc2\\x9b end\n"))
        for control in ["\u{1B}", "\u{07}", "\r", "\u{9B}"] { #expect(!printed.contains(control)) }
        #expect(try await canopy.stop() == 0)
    }
}
