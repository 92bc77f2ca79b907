import CanopyBuild
import CanopySpec
import Foundation
import Testing

@Suite struct ShellStageTests {
    @Test func cdAndExportCarryAcrossCommandsAndPhases() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try fixture.write("app/marker.txt", "in app\n")
        let plan = BuildPlan(
            specFile: "amplify.yml",
            stages: [
                BuildStage(
                    kind: .frontend,
                    phases: [
                        BuildPhase(
                            name: "preBuild",
                            commands: [command("cd app", line: 5), command("export GREETING=hello", line: 6)]),
                        BuildPhase(
                            name: "build",
                            commands: [
                                command("mkdir -p ../dist", line: 9),
                                command("echo \"$GREETING from $(basename \"$PWD\")\" > ../dist/out.txt", line: 10),
                                command("cat marker.txt >> ../dist/out.txt", line: 11),
                            ]),
                    ])
            ],
            artifacts: ArtifactSelection(baseDirectory: "dist", files: ["**/*"]))
        let result = await fixture.run(fixture.request(plan))
        #expect(result.succeeded, "\(String(describing: result.failure))")
        #expect(fixture.read(fixture.artifacts + "/out.txt") == "hello from app\nin app\n")
        #expect(result.phaseDurations.map(\.phase) == ["preBuild", "build"])
        let log = fixture.log
        #expect(log.contains("## Starting phase: preBuild"))
        #expect(log.contains("# Executing command: export GREETING=hello"))
        #expect(log.contains("## Build succeeded"))
    }

    @Test func quotesDollarsAndHeredocsRunAsWritten() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let heredoc = "cat > dist/page.html <<'EOF'\n<p>it's $HOME \"quoted\"</p>\nEOF"
        let plan = frontendPlan([
            "mkdir -p dist", heredoc, "echo 'single' \"double\" && echo '$NOT_EXPANDED' >> dist/page.html",
        ])
        let result = await fixture.run(fixture.request(plan))
        #expect(result.succeeded, "\(String(describing: result.failure))")
        #expect(fixture.read(fixture.artifacts + "/page.html") == "<p>it's $HOME \"quoted\"</p>\n$NOT_EXPANDED\n")
        #expect(fixture.log.contains("single double"))
    }

    @Test func firstFailingCommandStopsTheBuildAndIsNamed() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let plan = frontendPlan(["mkdir -p dist && touch dist/a", "echo before", "exit 3", "touch ran-after"])
        let result = await fixture.run(fixture.request(plan))
        let failure = try #require(result.failure)
        #expect(failure.command == "exit 3")
        #expect(failure.exitCode == 3)
        #expect(failure.phase == "build")
        #expect(failure.location?.line == 12)
        #expect(failure.description == "amplify.yml:12:11: command `exit 3` in frontend/build exited with status 3")
        #expect(!FileManager.default.fileExists(atPath: fixture.source + "/ran-after"))
        #expect(fixture.artifactFiles().isEmpty)
        #expect(fixture.log.contains("## Build failed"))
    }

    @Test func failureInsideAPipelineIsCaught() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let plan = frontendPlan(["mkdir -p dist", "false | cat", "touch dist/never"])
        let result = await fixture.run(fixture.request(plan))
        #expect(result.failure?.command == "false | cat")
        #expect(result.failure?.exitCode == 1)
    }

    @Test func failingTestPhaseFailsTheBuildWithoutArtifactsButKeepsTestArtifacts() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        var plan = frontendPlan(["mkdir -p dist && echo hi > dist/index.html"])
        plan.stages.append(
            BuildStage(
                kind: .test,
                phases: [
                    BuildPhase(
                        name: "preTest", commands: [command("mkdir -p reports && echo bad > reports/r.txt", line: 20)]),
                    BuildPhase(name: "test", commands: [command("test -f missing-file", line: 22)]),
                ]))
        plan.testArtifacts = ArtifactSelection(baseDirectory: "reports", files: ["**/*.txt"])
        var request = fixture.request(plan)
        request.testArtifactDirectory = fixture.folder + "/test-out"
        let result = await fixture.run(request)
        let failure = try #require(result.failure)
        #expect(failure.stage == .test)
        #expect(
            failure.description == "amplify.yml:22:11: command `test -f missing-file` in test/test exited with status 1"
        )
        #expect(fixture.artifactFiles().isEmpty)
        #expect(result.artifactCount == 0)
        #expect(fixture.read(fixture.folder + "/test-out/r.txt") == "bad\n")
    }

    @Test func environmentIsCleanAndCarriesBuildFacts() async throws {
        setenv("CANOPY_LEAK_CHECK", "leaked", 1)
        let fixture = try Fixture()
        defer { fixture.remove() }
        var plan = frontendPlan([
            "mkdir -p dist",
            "env > dist/env.txt",
        ])
        plan.variables = ["FROM_SPEC": "spec", "BOTH": "spec"]
        var request = fixture.request(plan)
        request.environment = ["BOTH": "sites", "FROM_SITES": "sites"]
        let result = await fixture.run(request)
        #expect(result.succeeded, "\(String(describing: result.failure))")
        let lines = Set((fixture.read(fixture.artifacts + "/env.txt") ?? "").split(separator: "\n").map(String.init))
        for expected in [
            "AWS_BRANCH=dev", "AWS_APP_ID=example", "AWS_COMMIT_ID=abc123", "AWS_JOB_ID=\(fixture.buildID)",
            "AWS_CLONE_URL=file:///repo.git", "CANOPY_COMMIT=abc123", "CANOPY_BRANCH=dev", "CANOPY_SITE=example",
            "CANOPY_BUILD_ID=\(fixture.buildID)", "CI=true", "LANG=C.UTF-8", "FROM_SPEC=spec", "FROM_SITES=sites",
            "BOTH=sites",
        ] {
            #expect(lines.contains(expected), "missing \(expected)")
        }
        #expect(!lines.contains { $0.hasPrefix("CANOPY_LEAK_CHECK=") })
        let home = try #require(lines.first { $0.hasPrefix("HOME=") })
        #expect(home.hasPrefix("HOME=" + fixture.folder))
    }
}

@Suite struct StageLimitTests {
    @Test func earlyExitZeroIsAFailure() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let plan = frontendPlan(["mkdir -p dist", "exit 0", "touch dist/never"])
        let result = await fixture.run(fixture.request(plan))
        let failure = try #require(result.failure)
        #expect(failure.command == "exit 0")
        #expect(!FileManager.default.fileExists(atPath: fixture.source + "/dist/never"))
    }

    @Test func cpuLimitStopsABusyCommand() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let plan = frontendPlan(["mkdir -p dist", "while :; do :; done"])
        var request = fixture.request(plan, timeout: .seconds(120))
        request.cpuSeconds = 1
        let result = await fixture.run(request)
        let failure = try #require(result.failure)
        #expect(failure.command == "while :; do :; done")
        #expect(failure.exitCode == 128 + SIGXCPU)
    }
}
