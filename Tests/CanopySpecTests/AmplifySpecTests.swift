import Testing

@testable import CanopySpec

@Suite("AmplifySpec.parse")
struct AmplifySpecTests {
    func parse(_ yaml: String, appRoot: String? = nil) throws -> BuildPlan {
        try AmplifySpec.parse(yaml, file: "amplify.yml", appRoot: appRoot)
    }

    func error(_ yaml: String, appRoot: String? = nil) throws -> SpecError {
        try #require(throws: SpecError.self) { try parse(yaml, appRoot: appRoot) }
    }

    @Test("every key: env, backend, frontend, test, artifacts, cache, test artifacts, customHeaders")
    func fullSpec() throws {
        let plan = try parse(
            """
            version: 1
            env:
              variables:
                NODE_ENV: production
                RETRIES: 3
            backend:
              phases:
                build:
                  commands:
                    - amplifyPush --simple
            frontend:
              phases:
                postBuild:
                  commands:
                    - echo done
                build:
                  commands:
                    - npm run build
                preBuild:
                  commands:
                    - npm ci
              artifacts:
                baseDirectory: dist
                files:
                  - '**/*'
                  - '!*.map'
              cache:
                paths:
                  - node_modules/**/*
                  - ../.yarn/cache/**/*
              customHeaders:
                - pattern: '**/*.js'
                  headers:
                    - key: Cache-Control
                      value: max-age=31536000
            test:
              phases:
                preTest:
                  commands:
                    - npm ci
                test:
                  commands:
                    - npm test
              artifacts:
                baseDirectory: reports
                files:
                  - '**/*.xml'
            """)
        #expect(plan.variables == ["NODE_ENV": "production", "RETRIES": "3"])
        #expect(plan.stages.map(\.kind) == [.backend, .frontend, .test])
        #expect(plan.stages[1].phases.map(\.name) == ["preBuild", "build", "postBuild"])
        #expect(
            plan.stages[1].phases[0].commands == [
                BuildCommand("npm ci", location: SourceLocation(file: "amplify.yml", line: 21, column: 11))
            ])
        #expect(plan.artifacts == ArtifactSelection(baseDirectory: "dist", files: ["**/*", "!*.map"]))
        #expect(plan.cachePaths == ["node_modules/**/*", "../.yarn/cache/**/*"])
        #expect(plan.testArtifacts == ArtifactSelection(baseDirectory: "reports", files: ["**/*.xml"]))
        #expect(plan.customHeaders.map(\.pattern) == ["**/*.js"])
        #expect(plan.customHeaders.first?.headers == [HeaderField(name: "Cache-Control", value: "max-age=31536000")])
        #expect(plan.warnings.isEmpty)
        #expect(plan.hasTests)
    }

    @Test("artifacts default to the whole application folder, with a warning when the section is missing")
    func artifactDefaults() throws {
        let missing = try parse("version: 1\nfrontend:\n  cache:\n    paths: [node_modules/**/*]\n")
        #expect(missing.artifacts == .everything)
        #expect(missing.warnings.map(\.location.line) == [2])
        let partial = try parse("frontend:\n  artifacts:\n    baseDirectory: out\n")
        #expect(partial.artifacts == ArtifactSelection(baseDirectory: "out", files: ["**/*"]))
        let filesOnly = try parse("frontend:\n  artifacts:\n    files: '**/*.html'\n")
        #expect(filesOnly.artifacts == ArtifactSelection(baseDirectory: ".", files: ["**/*.html"]))
    }

    /// #14: a spec with build commands and no artifacts (or artifacts indented under phases) used
    /// to deploy the whole checkout, `.env` included.
    @Test("missing or misplaced artifacts with build commands are an error at their line")
    func missingArtifactsWithCommands() throws {
        let missing = try error("version: 1\nfrontend:\n  phases:\n    build:\n      commands:\n        - make\n")
        #expect(missing.diagnostics.map(\.location.line) == [2])
        #expect(missing.description.contains("no artifacts section"), "\(missing)")
        let misplaced = try error(
            "version: 1\nfrontend:\n  phases:\n    build:\n      commands:\n        - make\n"
                + "    artifacts:\n      baseDirectory: dist\n")
        #expect(misplaced.diagnostics.map(\.location.line) == [7])
        #expect(misplaced.description.contains("indented under phases"), "\(misplaced)")
        let backendOnly = try error("version: 1\nbackend:\n  phases:\n    build:\n      commands: [make]\n")
        #expect(backendOnly.diagnostics.map(\.location.line) == [2])
    }

    @Test("applications: appRoot selects one, its env merges over the top-level env")
    func applications() throws {
        let yaml = """
            version: 1
            env:
              variables:
                A: top
                B: top
            applications:
              - appRoot: apps/site
                env:
                  variables:
                    B: site
                frontend:
                  phases:
                    build:
                      commands: [make site]
                  artifacts: { baseDirectory: out }
              - appRoot: apps/docs
                frontend:
                  phases:
                    build:
                      commands: [make docs]
                  artifacts: { baseDirectory: out }
            """
        let site = try parse(yaml, appRoot: "apps/site")
        #expect(site.appRoot == "apps/site")
        #expect(site.stages.first?.phases.first?.commands.map(\.text) == ["make site"])
        #expect(site.variables["A"] == "top")
        #expect(site.variables["B"] == "site")
        let docs = try parse(yaml, appRoot: "apps/docs/")
        #expect(docs.stages.first?.phases.first?.commands.map(\.text) == ["make docs"])
        let none = try error(yaml)
        #expect(none.diagnostics.map(\.location.line) == [6])
        #expect(none.description.contains("apps/site, apps/docs"))
        let wrong = try error(yaml, appRoot: "apps/blog")
        #expect(wrong.description.contains("apps/blog"))
        #expect(wrong.description.contains("apps/site, apps/docs"))
    }

    @Test("a single application is used without an appRoot")
    func singleApplication() throws {
        let plan = try parse(
            "applications:\n  - appRoot: web\n    frontend:\n      phases:\n        build:\n          commands: [make]\n"
                + "      artifacts: { baseDirectory: out }\n"
        )
        #expect(plan.appRoot == "web")
        #expect(plan.stages.count == 1)
    }

    @Test("a list item of applications that is not an application is named at its line, not counted (#14)")
    func strayApplicationsItem() throws {
        let yaml = """
            applications:
              - appRoot: web
                frontend:
                  phases:
                    build:
                      commands: [make]
                  artifacts: { baseDirectory: out }
              - rewrites:
                  - source: /old
                    target: /new
            """
        let plan = try parse(yaml)
        #expect(plan.appRoot == "web", "the one real application is chosen without an appRoot")
        let stray = try #require(plan.warnings.first { $0.message.contains("not an application") })
        #expect(stray.location.line == 8)
        #expect(stray.message.contains("'rewrites'"))
        let none = try error("applications:\n  - rewrites: []\n")
        #expect(none.description.contains("lists no application"))
    }

    @Test("two applications without an appRoot: the error offers --app-root (#14)")
    func twoApplicationsOfferAppRoot() throws {
        let app = { (root: String) in
            "  - appRoot: \(root)\n    frontend:\n      phases:\n        build:\n          commands: [make]\n"
                + "      artifacts: { baseDirectory: out }\n"
        }
        let failure = try error("applications:\n" + app("web") + app("docs"))
        #expect(failure.description.contains("web, docs"))
        #expect(failure.description.contains("canopy validate --app-root"))
    }

    @Test("unknown versions, keys and phases are warnings with their lines")
    func warnings() throws {
        let plan = try parse(
            """
            version: 2
            colour: blue
            frontend:
              phases:
                compile:
                  commands: [make]
                build:
                  commands: [make]
              artifacts:
                baseDirectory: out
                extra: 1
            """)
        #expect(plan.warnings.map(\.location.line) == [1, 2, 5, 11])
        #expect(plan.warnings[0].message.contains("version 2"))
        #expect(plan.warnings[1].message.contains("colour"))
        #expect(plan.warnings[2].message.contains("compile"))
        #expect(plan.warnings.allSatisfy { $0.severity == .warning })
        #expect(plan.stages.first?.phases.map(\.name) == ["build"])
        for version in ["1", "1.0", "0.1"] {
            #expect(
                try parse("version: \(version)\nfrontend:\n  artifacts:\n    baseDirectory: out\n").warnings.isEmpty)
        }
    }

    @Test("a command YAML reads as a mapping is an error at its line")
    func commandAsMapping() throws {
        let failure = try error(
            """
            frontend:
              phases:
                build:
                  commands:
                    - npm ci
                    - echo building: now
            """)
        #expect(failure.diagnostics.count == 1)
        #expect(failure.diagnostics[0].location.line == 6)
        #expect(failure.diagnostics[0].message.contains("quote"))
    }

    @Test("commands as one string, numbers and booleans as commands, blank commands dropped")
    func commandForms() throws {
        let plan = try parse(
            """
            frontend:
              phases:
                preBuild:
                  commands: npm ci
                build:
                  commands:
                    - 42
                    - true
                    - ''
                    - "echo 'a: b'"
              artifacts: { baseDirectory: out }
            """)
        let phases = try #require(plan.stages.first?.phases)
        #expect(phases[0].commands.map(\.text) == ["npm ci"])
        #expect(phases[0].commands[0].location?.line == 4)
        #expect(phases[1].commands.map(\.text) == ["42", "true", "echo 'a: b'"])
    }

    @Test("a nested list as a command is an error")
    func nestedList() throws {
        let failure = try error("frontend:\n  phases:\n    build:\n      commands:\n        - - make\n")
        #expect(failure.diagnostics.first?.location.line == 5)
    }

    @Test("an empty file or a file of comments is an error at line 1")
    func emptyFile() throws {
        for text in ["", "# nothing here\n"] {
            let failure = try error(text)
            #expect(failure.diagnostics.first?.location.line == 1)
            #expect(failure.description.contains("empty"))
        }
    }

    @Test("a YAML syntax error carries its line and column")
    func syntaxError() throws {
        let failure = try error("version: 1\nfrontend:\n  phases:\n    build:\n      commands: [make\n")
        let d = try #require(failure.diagnostics.first)
        #expect(d.location.line >= 5)
        #expect(d.location.column >= 1)
        #expect(d.message.contains("invalid YAML"))
        let tab = try error("frontend:\n\tphases: {}\n")
        #expect(tab.diagnostics.first?.location.line == 2)
    }

    @Test("a spec that is a list, not a mapping, is refused")
    func notAMapping() throws {
        let failure = try error("- npm ci\n- npm run build\n")
        #expect(failure.diagnostics.first?.location.line == 1)
    }

    @Test("several wrong sections are all reported together")
    func severalErrors() throws {
        let failure = try error(
            "frontend:\n  phases: 3\ntest:\n  phases:\n    test:\n      commands:\n        - a: b\n")
        #expect(failure.diagnostics.map(\.location.line) == [2, 7])
    }

    @Test("a test section without commands is a warning, not a stage")
    func emptyTest() throws {
        let plan = try parse(
            "frontend:\n  artifacts:\n    baseDirectory: out\ntest:\n  phases:\n    test:\n      commands: []\n")
        #expect(!plan.hasTests)
        #expect(plan.warnings.map(\.location.line) == [4])
    }

    @Test("env secrets are warned about; variables may be empty")
    func envForms() throws {
        let plan = try parse("env:\n  variables:\n    EMPTY:\n  secrets-manager: {}\n  parameter-store:\n    X: /a\n")
        #expect(plan.variables == ["EMPTY": ""])
        #expect(plan.warnings.map(\.location.line) == [4, 5])
    }

    @Test("YAML anchors and aliases are followed")
    func aliases() throws {
        let plan = try parse(
            "shared: &cmds\n  - make\nfrontend:\n  phases:\n    build:\n      commands: *cmds\n  artifacts: { baseDirectory: out }\n"
        )
        #expect(plan.stages.first?.phases.first?.commands.map(\.text) == ["make"])
    }

    @Test("a duplicated key is an error")
    func duplicatedKey() throws {
        let failure = try error("version: 1\nfrontend: {}\nfrontend: {}\n")
        #expect(failure.description.contains("frontend"))
        #expect((failure.diagnostics.first?.location.line ?? 0) > 0)
    }

    @Test("buildPath moves where commands run; baseDirectory '/' is the application folder")
    func buildPath() throws {
        let plan = try parse(
            "applications:\n  - appRoot: apps/web\n    frontend:\n      buildPath: /\n      artifacts:\n        baseDirectory: apps/web/dist\n"
        )
        #expect(plan.appRoot == "")
        #expect(plan.artifacts.baseDirectory == "apps/web/dist")
        let sub = try parse("frontend:\n  buildPath: /packages\n  artifacts:\n    baseDirectory: /\n")
        #expect(sub.appRoot == "packages")
        #expect(sub.artifacts.baseDirectory == ".")
    }

    @Test("merge conflict markers are reported at their line, with Windows line endings too")
    func conflictMarkers() throws {
        let failure = try error("version: 1\r\nfrontend:\r\n<<<<<<< HEAD\r\n  phases: {}\r\n")
        #expect(failure.diagnostics.map(\.location.line) == [3])
        #expect(failure.description.contains("merge conflict"))
    }

    @Test("empty sections and empty command lists are allowed")
    func nulls() throws {
        let plan = try parse(
            "version: 1\nbackend:\nfrontend:\n  phases:\n    build:\n      commands:\n  artifacts:\n  cache:\n")
        #expect(plan.stages.isEmpty)
        #expect(plan.artifacts == .everything)
    }

    /// Amplify reads `cache` in backend and test sections too (the Cypress example of
    /// https://docs.aws.amazon.com/amplify/latest/userguide/running-tests.html): one cache per branch.
    @Test("test.cache and backend.cache are cached with frontend.cache")
    func cacheInEverySection() throws {
        let plan = try parse(
            """
            version: 1
            backend:
              phases:
                build:
                  commands: [echo backend]
              cache:
                paths: [amplify/.cache/**/*]
            frontend:
              phases:
                build:
                  commands: [mkdir -p dist]
              artifacts: { baseDirectory: dist, files: ['**/*'] }
              cache:
                paths: [node_modules/**/*, '~/.npm/**/*']
            test:
              phases:
                test:
                  commands: [npx cypress run]
              cache:
                paths: ['~/.cache/Cypress/**/*', node_modules/**/*, '!node_modules/.cache/**/*']
            """)
        #expect(
            plan.cachePaths == [
                "amplify/.cache/**/*", "node_modules/**/*", "~/.npm/**/*", "~/.cache/Cypress/**/*",
                "!node_modules/.cache/**/*",
            ])
        #expect(plan.warnings.isEmpty)
    }
}
