import CanopyBuild
import CanopySpec
import Foundation
import Testing

/// The parts of an amplify.yml that only Amplify's AWS service runs (#14): the backend deploy is
/// refused by name before anything runs (or skipped with the Sites file's `skipBackend`), and a
/// server-rendered build output is deployed with a warning that Canopy serves static files only.
struct AmplifyOnlyTests {
    /// Amplify's documented Gen 1 full-stack spec: `amplifyPush --simple` in backend.phases.build
    /// (docs.aws.amazon.com/amplify/latest/userguide/build-settings.html, "Build specification YAML syntax").
    func fullStackPlan() throws -> BuildPlan {
        try AmplifySpec.parse(
            """
            version: 1
            backend:
              phases:
                build:
                  commands:
                    - '# Execute Amplify CLI with the helper script'
                    - touch backend-ran
                    - amplifyPush --simple
            frontend:
              phases:
                build:
                  commands:
                    - mkdir -p dist && echo '<p>app</p>' > dist/index.html
              artifacts:
                baseDirectory: dist
                files: ['**/*']
            """, file: "amplify.yml", appRoot: nil)
    }

    @Test func amplifysBackendDeployIsRefusedByNameBeforeAnythingRuns() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let result = await fixture.run(fixture.request(try fullStackPlan()))
        let failure = try #require(result.failure)
        #expect(failure.command == "amplifyPush --simple")
        #expect(failure.location?.line == 8)
        #expect(failure.description.contains("Amplify's AWS backend deploy"))
        #expect(failure.description.contains("skipBackend: true"))
        #expect(!FileManager.default.fileExists(atPath: fixture.source + "/backend-ran"), "nothing ran")
    }

    @Test func skipBackendBuildsTheFrontendAlone() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        var request = fixture.request(try fullStackPlan())
        request.skipBackend = true
        let result = await fixture.run(request)
        #expect(result.succeeded, "\(String(describing: result.failure))")
        #expect(fixture.artifactFiles() == ["index.html"])
        #expect(!FileManager.default.fileExists(atPath: fixture.source + "/backend-ran"))
        #expect(fixture.log.contains("Backend phases skipped"))
    }

    @Test func theAmplifyCLIIsRecognisedHoweverItIsRun() {
        let plan = { (text: String) in
            BuildPlan(
                specFile: "amplify.yml",
                stages: [
                    BuildStage(kind: .backend, phases: [BuildPhase(name: "build", commands: [command(text, line: 3)])])
                ])
        }
        for text in [
            "amplifyPush --simple", "amplify push --yes",
            "npx ampx pipeline-deploy --branch $AWS_BRANCH --app-id $AWS_APP_ID",
            "npx --yes @aws-amplify/backend-cli pipeline-deploy", "AWS_REGION=eu-west-1 amplify publish",
            "yarn dlx ampx sandbox",
        ] {
            #expect(plan(text).amplifyBackendCommand?.command.text == text, "\(text)")
        }
        for text in ["npm ci", "npx prisma migrate deploy", "echo amplify", "./amplify-helper.sh"] {
            #expect(plan(text).amplifyBackendCommand == nil, "\(text)")
        }
    }

    @Test func aNextJSServerBuildDeploysWithAWarning() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        // What `next build` leaves without `output: 'export'`.
        let build =
            "mkdir -p .next/server .next/static && echo {} > .next/required-server-files.json"
            + " && echo {} > .next/server/pages-manifest.json && echo x > .next/static/a.js"
        let plan = frontendPlan([build], artifacts: ArtifactSelection(baseDirectory: ".next", files: ["**/*"]))
        let result = await fixture.run(fixture.request(plan))
        #expect(result.succeeded, "\(String(describing: result.failure))")
        #expect(fixture.log.contains("is a Next.js server build"), "\(fixture.log)")
        #expect(fixture.log.contains("output: 'export'"))
        // A static export gets no such warning.
        let other = try Fixture()
        defer { other.remove() }
        _ = await other.run(other.request(frontendPlan(["mkdir -p dist && echo x > dist/index.html"])))
        #expect(!other.log.contains("Next.js server build"))
    }

    @Test func consoleSettingsWrittenIntoAmplifyYmlSayWhereTheyBelong() throws {
        let plan = try AmplifySpec.parse(
            """
            version: 1
            environmentVariables:
              API: https://api.example.com
            customRules:
              - source: /<*>
                target: /index.html
                status: '404-200'
            frontend:
              env:
                variables: { A: b }
              phases:
                build:
                  commands: [make]
              artifacts: { baseDirectory: out }
            """, file: "amplify.yml", appRoot: nil)
        let messages = Dictionary(plan.warnings.map { ($0.location.line, $0.message) }, uniquingKeysWith: { a, _ in a })
        #expect(messages[2]?.contains("Sites file's env") == true, "\(messages)")
        #expect(messages[4]?.contains("Sites file's redirects") == true, "\(messages)")
        #expect(messages[9]?.contains("frontend.env is not read") == true, "\(messages)")
    }
}
