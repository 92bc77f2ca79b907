import Yams

extension AmplifySpec {
    /// Parses an `amplify.yml` (version 1, or the `0.1`/`1.0` files found in the wild) into the plan
    /// for one application. `appRoot` picks an entry of `applications:` in a monorepo spec.
    /// Unknown keys are warnings in the plan; anything that cannot run is a SpecError with its line.
    public static func parse(_ yaml: String, file: String, appRoot: String?) throws -> BuildPlan {
        let root = try YAMLValue.parse(yaml, file: file)
        var findings = DiagnosticCollector()
        guard case .mapping = root.node else {
            throw root.error("amplify.yml must be a mapping with keys such as version, frontend and test")
        }
        var plan = BuildPlan(specFile: file)
        let (sections, topVariables) = try topLevel(root, &findings)
        var variables = topVariables
        let app = try application(of: sections, appRoot: appRoot, plan: &plan, variables: &variables, &findings)
        let stages = stages(of: app, plan: &plan, &findings)
        try findings.throwIfErrors()
        plan.variables = variables
        plan.stages = stages
        // One cache per branch, as on Amplify: backend, frontend and test paths together.
        plan.cachePaths = plan.cachePaths.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
        plan.warnings = findings.warnings
        return plan
    }

    /// The sections of a spec (or of one of its applications), by key, with the key's location.
    typealias Sections = [String: (SourceLocation, YAMLValue)]

    /// The top level: its version checked, its env read, its sections collected, other keys warned about.
    static func topLevel(
        _ root: YAMLValue, _ findings: inout DiagnosticCollector
    ) throws -> (Sections, [String: String]) {
        var variables: [String: String] = [:]
        var sections: Sections = [:]
        for entry in try root.mapping("amplify.yml") {
            switch entry.key {
            case "version":
                let version = (try? entry.value.string("version")) ?? ""
                if !["1", "1.0", "0.1"].contains(version) {
                    findings.warn(
                        entry.value.location,
                        "version \(version) is not one Canopy knows (1, 1.0 or 0.1); reading it as version 1")
                }
            case "env":
                findings.attempt { findings in variables = try parseEnv(entry.value, &findings) }
            case "frontend", "backend", "test", "applications", "customHeaders", "appRoot":
                sections[entry.key] = (entry.keyLocation, entry.value)
            default:
                findings.warn(
                    entry.keyLocation, misplacedKeyMessage(entry.key) ?? "unknown key '\(entry.key)' is ignored")
            }
        }
        return (sections, variables)
    }

    /// The stages (backend, frontend, test, in that order) with the plan's artifacts, cache paths
    /// and headers; a build without artifacts is checked.
    static func stages(of app: Sections, plan: inout BuildPlan, _ findings: inout DiagnosticCollector) -> [BuildStage] {
        var stages: [BuildStage] = []
        if let (_, backend) = app["backend"] {
            findings.attempt { findings in
                let section = try parseSection(backend, kind: .backend, &findings)
                if !section.phases.isEmpty { stages.append(BuildStage(kind: .backend, phases: section.phases)) }
                if let artifacts = section.artifacts {
                    findings.warn(artifacts.1, "backend artifacts are not deployed by Canopy")
                }
                plan.cachePaths += section.cachePaths
            }
        }
        var sawArtifacts = false
        var misplacedArtifacts: SourceLocation?
        if let (_, frontend) = app["frontend"] {
            findings.attempt { findings in
                let section = try parseSection(frontend, kind: .frontend, &findings)
                misplacedArtifacts = section.misplacedArtifacts
                if !section.phases.isEmpty { stages.append(BuildStage(kind: .frontend, phases: section.phases)) }
                if let artifacts = section.artifacts {
                    plan.artifacts = artifacts.0
                    sawArtifacts = true
                }
                plan.cachePaths += section.cachePaths
                plan.customHeaders += section.customHeaders
                // Amplify runs the commands of a monorepo app in its buildPath (often the repository
                // root, '/') and resolves artifacts and cache paths from there.
                if let buildPath = section.buildPath { plan.appRoot = buildPath }
            }
        }
        if let (location, test) = app["test"] {
            findings.attempt { findings in
                let section = try parseSection(test, kind: .test, &findings)
                if !section.phases.isEmpty {
                    stages.append(BuildStage(kind: .test, phases: section.phases))
                } else {
                    findings.warn(location, "the test section has no commands")
                }
                plan.testArtifacts = section.artifacts?.0
                plan.cachePaths += section.cachePaths
            }
        }
        if let (_, headers) = app["customHeaders"] {
            findings.attempt { findings in plan.customHeaders += try RulesSpec.headerRules(headers, &findings) }
        }
        if let location = app["frontend"]?.0 ?? app["backend"]?.0, !sawArtifacts {
            checkMissingArtifacts(
                at: location, frontend: app["frontend"] != nil, commands: stages.contains { $0.kind != .test },
                misplaced: misplacedArtifacts, &findings)
        }
        return stages
    }

    /// No artifacts: an error when there are build commands (deploying the whole folder would
    /// publish the sources, `.env` included), or when `artifacts` sits under `phases`; otherwise a
    /// plain folder is deployed as it is, with a warning.
    static func checkMissingArtifacts(
        at location: SourceLocation, frontend: Bool, commands: Bool, misplaced: SourceLocation?,
        _ findings: inout DiagnosticCollector
    ) {
        if commands || misplaced != nil {
            // Never publish a repository (its .env included) by accident.
            let note = misplaced.map {
                " (the artifacts at line \($0.line) are indented under phases; move them to the level of phases)"
            }
            findings.error(
                misplaced ?? location,
                "this build has commands but frontend has no artifacts section\(note ?? ""): Canopy does not deploy "
                    + "the whole folder; add `artifacts:` with `baseDirectory:` (the build's output folder) and "
                    + "`files: ['**/*']`")
        } else if frontend {
            findings.warn(
                location,
                "frontend has no artifacts section: deploying the whole application folder (baseDirectory '.', files '**/*')"
            )
        }
    }

    /// Keys of Amplify's console or CloudFormation settings that people write into amplify.yml,
    /// with where the setting belongs on Canopy; nil for other keys.
    static func misplacedKeyMessage(_ key: String) -> String? {
        switch key {
        case "environmentVariables", "environment-variables":
            return
                "\(key) is an Amplify console setting, not part of amplify.yml: it is ignored; set the variables in "
                + "the Sites file's env (per site or branch), or in amplify.yml's env.variables"
        case "customRules", "rewrites", "redirects":
            return
                "\(key) is an Amplify console setting, not part of amplify.yml: it is ignored; write the rules in the "
                + "Sites file's redirects, or in a redirects.json or _redirects file in the deployed folder"
        default:
            return nil
        }
    }

    static func normalise(_ path: String) -> String {
        var p = path.trimmingCharacters(in: .whitespaces)
        while p.hasPrefix("./") { p.removeFirst(2) }
        while p.hasSuffix("/") && p.count > 1 { p.removeLast() }
        if p == "." || p == "/" { return "" }
        return p
    }

    static func parseEnv(_ value: YAMLValue, _ findings: inout DiagnosticCollector) throws -> [String: String] {
        if value.isNull { return [:] }
        var variables: [String: String] = [:]
        for entry in try value.mapping("env") {
            switch entry.key {
            case "variables": variables = try entry.value.stringMap("env.variables")
            case "secrets", "parameter-store":
                findings.warn(
                    entry.keyLocation,
                    "env.\(entry.key) (AWS Parameter Store) is not available here; set the values in the Sites file's env instead"
                )
            default: findings.warn(entry.keyLocation, "unknown key 'env.\(entry.key)' is ignored")
            }
        }
        return variables
    }

    struct Section {
        var phases: [BuildPhase] = []
        var artifacts: (ArtifactSelection, SourceLocation)?
        var cachePaths: [String] = []
        var customHeaders: [HeaderRule] = []
        /// `buildPath`: the folder (from the repository root) where a monorepo app builds.
        var buildPath: String?
        /// Where `artifacts` was written under `phases` (a common indentation mistake).
        var misplacedArtifacts: SourceLocation?
    }

    static let phaseNames: [BuildStage.Kind: [String]] = [
        .backend: ["preBuild", "build", "postBuild"],
        .frontend: ["preBuild", "build", "postBuild"],
        .test: ["preTest", "test", "postTest"],
    ]

    static func parseSection(
        _ value: YAMLValue, kind: BuildStage.Kind, _ findings: inout DiagnosticCollector
    ) throws -> Section {
        var section = Section()
        if value.isNull { return section }
        let what = kind.rawValue
        for entry in try value.mapping(what) {
            switch entry.key {
            case "phases":
                if entry.value.isNull { continue }
                var byName: [String: BuildPhase] = [:]
                for phase in try entry.value.mapping("\(what).phases") {
                    if phase.key == "artifacts" { section.misplacedArtifacts = phase.keyLocation }
                    guard phaseNames[kind]!.contains(phase.key) else {
                        findings.warn(
                            phase.keyLocation,
                            "unknown phase '\(phase.key)' in \(what) is ignored (phases are \(phaseNames[kind]!.joined(separator: ", ")))"
                        )
                        continue
                    }
                    byName[phase.key] = BuildPhase(
                        name: phase.key,
                        commands: try parseCommands(phase.value, "\(what).phases.\(phase.key)", &findings))
                }
                section.phases = phaseNames[kind]!.compactMap { byName[$0] }.filter { !$0.commands.isEmpty }
            case "artifacts":
                if entry.value.isNull { continue }
                var base = "."
                var files = ["**/*"]
                for field in try entry.value.mapping("\(what).artifacts") {
                    switch field.key {
                    case "baseDirectory":
                        base = field.value.isNull ? "." : try field.value.string("artifacts.baseDirectory")
                        // Amplify reads '/' (and '/dist') from the application root, never the disk root.
                        while base.hasPrefix("/") { base.removeFirst() }
                        if base.isEmpty { base = "." }
                    case "files":
                        files = try field.value.strings("artifacts.files").map(\.0)
                        if files.isEmpty { files = ["**/*"] }
                    case "configFilePath", "discard-paths", "name":
                        findings.warn(field.keyLocation, "artifacts.\(field.key) is not used by Canopy")
                    default:
                        findings.warn(field.keyLocation, "unknown key 'artifacts.\(field.key)' is ignored")
                    }
                }
                section.artifacts = (ArtifactSelection(baseDirectory: base, files: files), entry.keyLocation)
            case "cache":
                if entry.value.isNull { continue }
                for field in try entry.value.mapping("\(what).cache") {
                    if field.key == "paths" {
                        section.cachePaths = try field.value.strings("cache.paths").map(\.0)
                    } else {
                        findings.warn(field.keyLocation, "unknown key 'cache.\(field.key)' is ignored")
                    }
                }
            case "customHeaders":
                section.customHeaders = try RulesSpec.headerRules(entry.value, &findings)
            case "buildPath":
                var path = try entry.value.string("\(what).buildPath")
                while path.hasPrefix("/") { path.removeFirst() }
                section.buildPath = normalise(path)
            case "runtime-versions":
                findings.warn(
                    entry.keyLocation,
                    "\(what).\(entry.key) is not used by Canopy: commands run in the application root")
            case "env":
                findings.warn(
                    entry.keyLocation,
                    "\(what).env is not read by Amplify or Canopy: put variables under the top-level env.variables "
                        + "of amplify.yml, or in the Sites file's env (per site or branch)")
            default:
                findings.warn(
                    entry.keyLocation,
                    misplacedKeyMessage(entry.key).map { "\(what).\($0)" }
                        ?? "unknown key '\(what).\(entry.key)' is ignored")
            }
        }
        return section
    }

    static func parseCommands(
        _ value: YAMLValue, _ what: String, _ findings: inout DiagnosticCollector
    ) throws -> [BuildCommand] {
        if value.isNull { return [] }
        var commands: [BuildCommand] = []
        for entry in try value.mapping(what) {
            guard entry.key == "commands" else {
                findings.warn(entry.keyLocation, "unknown key '\(what).\(entry.key)' is ignored")
                continue
            }
            if entry.value.isNull { continue }
            if case .scalar = entry.value.node {
                commands.append(BuildCommand(try entry.value.string("commands"), location: entry.value.location))
                continue
            }
            for item in try entry.value.items("\(what).commands") {
                switch item.node {
                case .scalar(let scalar):
                    if !scalar.string.trimmingCharacters(in: .whitespaces).isEmpty {
                        commands.append(BuildCommand(scalar.string, location: item.location))
                    }
                case .mapping:
                    throw item.error(
                        "this command reads as a key: value pair, not a command; quote it (- 'echo \"a: b\"') when it contains ': '"
                    )
                default:
                    throw item.error("each command must be a single line of shell, not \(item.kind)")
                }
            }
        }
        return commands
    }
}
