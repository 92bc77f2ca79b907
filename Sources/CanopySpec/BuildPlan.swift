/// What one build of one commit runs and deploys: the resolved form of an `amplify.yml`
/// (for the site's `appRoot`), or the "deploy the repository root as is" plan when there is none.
public struct BuildPlan: Sendable, Hashable {
    /// The spec file this plan came from (for messages), or nil when the repository has none.
    public var specFile: String?
    /// Folder inside the repository where commands run and relative paths resolve; "" is the root.
    public var appRoot: String
    /// `env.variables` from the spec.
    public var variables: [String: String]
    /// Shell sessions in the order they run: backend, frontend, test. Each stage is one bash session,
    /// so `cd` and exported variables carry from one command (and phase) to the next within it.
    public var stages: [BuildStage]
    /// What is deployed, relative to `appRoot`.
    public var artifacts: ArtifactSelection
    /// `cache.paths` of frontend, backend and test: relative to `appRoot` (may start with `../`),
    /// in HOME (`~/…`, `$HOME/…`), absolute, or `!` exclusions.
    public var cachePaths: [String]
    /// `test.artifacts`: kept with the build's log, never deployed.
    public var testArtifacts: ArtifactSelection?
    /// `customHeaders` written inside amplify.yml (the legacy place for them).
    public var customHeaders: [HeaderRule]
    /// Unknown keys and other findings that did not stop the plan.
    public var warnings: [SpecDiagnostic]

    public init(
        specFile: String?, appRoot: String = "", variables: [String: String] = [:],
        stages: [BuildStage] = [], artifacts: ArtifactSelection = .everything,
        cachePaths: [String] = [], testArtifacts: ArtifactSelection? = nil,
        customHeaders: [HeaderRule] = [], warnings: [SpecDiagnostic] = []
    ) {
        self.specFile = specFile
        self.appRoot = appRoot
        self.variables = variables
        self.stages = stages
        self.artifacts = artifacts
        self.cachePaths = cachePaths
        self.testArtifacts = testArtifacts
        self.customHeaders = customHeaders
        self.warnings = warnings
    }

    /// The plan for a repository without amplify.yml: run nothing, deploy the root as it is.
    public static let repositoryRoot = BuildPlan(specFile: nil)

    /// True when any stage is a test stage: its failure blocks the deploy.
    public var hasTests: Bool { stages.contains { $0.kind == .test } }
}

/// One shell session of a build.
public struct BuildStage: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case backend
        case frontend
        case test
    }

    public var kind: Kind
    /// Phases in order (preBuild, build, postBuild; or preTest, test, postTest). Empty phases are omitted.
    public var phases: [BuildPhase]

    public init(kind: Kind, phases: [BuildPhase]) {
        self.kind = kind
        self.phases = phases
    }
}

public struct BuildPhase: Sendable, Hashable {
    /// `preBuild`, `build`, `postBuild`, `preTest`, `test` or `postTest`.
    public var name: String
    public var commands: [BuildCommand]

    public init(name: String, commands: [BuildCommand]) {
        self.name = name
        self.commands = commands
    }
}

public struct BuildCommand: Sendable, Hashable {
    public var text: String
    /// Where the command is written in amplify.yml, so a failing command can be pointed at.
    public var location: SourceLocation?

    public init(_ text: String, location: SourceLocation? = nil) {
        self.text = text
        self.location = location
    }
}

/// `artifacts.baseDirectory` and `artifacts.files` (globs such as `**/*`).
public struct ArtifactSelection: Sendable, Hashable {
    public var baseDirectory: String
    public var files: [String]

    public init(baseDirectory: String, files: [String]) {
        self.baseDirectory = baseDirectory
        self.files = files
    }

    public static let everything = ArtifactSelection(baseDirectory: ".", files: ["**/*"])
}
