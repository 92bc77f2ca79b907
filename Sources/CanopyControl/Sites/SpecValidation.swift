import CanopySpec
import Foundation

/// `canopy validate FILE`: which kind of file it is, and whether it is valid.
public enum SpecValidation {
    public struct Result: Sendable {
        public var ok: Bool
        public var message: String
    }

    /// `capabilities`: what the server the files are for evaluates (`canopy validate --geoip FILE`
    /// checks as a server started with `--geoip FILE` reads them); by default, a server without a
    /// GeoIP database, which refuses Country conditions at their line as its builds do.
    public static func validate(
        path: String, appRoot: String? = nil, capabilities: RuleCapabilities = .basic
    )
        -> Result
    {
        validate(path: path, appRoot: appRoot, companions: true, capabilities: capabilities)
    }

    /// `companions`: with an amplify.yml, also the rule files and rules test beside it.
    static func validate(path: String, appRoot: String?, companions: Bool, capabilities: RuleCapabilities) -> Result {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            return validateFolder(path, appRoot: appRoot, capabilities: capabilities)
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            return Result(ok: false, message: "\(path): cannot read the file")
        }
        let name = (path as NSString).lastPathComponent
        do {
            switch name {
            case "_redirects", "_headers", "customHttp.yml", "redirects.json", "netlify.toml":
                let parsed = try RuleFiles.read(name: name, text: text, file: path, capabilities: capabilities)
                let warnings = parsed.warnings.map { "\n\($0)" }.joined()
                return Result(ok: true, message: "\(path): valid \(name)" + proxyLines(parsed.redirects) + warnings)
            case RulesSpec.rulesTestFileName:
                return Result(ok: true, message: try rulesTestSummary(path: path, text: text))
            default:
                if isSitesFile(path: path, text: text) {
                    let site = try SiteCatalog.parse(file: path, capabilities: capabilities)
                    try checkAgainstNeighbours(site, path: path, capabilities: capabilities)
                    let warnings = site.warnings.map { "\n\($0)" }.joined()
                    return Result(
                        ok: true,
                        message:
                            "\(path): valid Sites file for site '\(site.name)' (\(site.branches.count) branches, \(site.previews.count) preview patterns)"
                            + proxyLines(site.redirects) + warnings
                    )
                }
                let plan = try AmplifySpec.parse(text, file: path, appRoot: appRoot)
                let warnings = plan.warnings.map { "\n\($0)" }.joined()
                let beside =
                    companions
                    ? Self.companions(ofSpec: path, appRoot: plan.appRoot, capabilities: capabilities)
                    : (ok: true, lines: "")
                return Result(
                    ok: beside.ok,
                    message: "\(path): valid amplify.yml\n\(interpretation(of: plan))\(beside.lines)\(warnings)")
            }
        } catch {
            return Result(ok: false, message: "\(error)")
        }
    }

    /// What a build of this plan does, as paths from the repository root: where commands run, what
    /// is deployed and cached, what the tests keep, and the variables set.
    static func interpretation(of plan: BuildPlan) -> String {
        let root = { (path: String) in repositoryPath(path, in: plan.appRoot) }
        var lines = ["  appRoot: \(plan.appRoot.isEmpty ? "(the repository root)" : plan.appRoot)"]
        let phases = plan.stages.map { stage in
            "\(stage.kind.rawValue): "
                + stage.phases.map { "\($0.name) (\($0.commands.count))" }.joined(separator: ", ")
        }
        lines.append("  phases: \(phases.isEmpty ? "none (nothing runs)" : phases.joined(separator: "; "))")
        lines.append(
            "  deploys: \(root(plan.artifacts.baseDirectory))/ (\(plan.artifacts.files.joined(separator: ", ")))")
        if !plan.cachePaths.isEmpty {
            lines.append("  cache: " + plan.cachePaths.map(cacheEntry(in: plan.appRoot)).joined(separator: ", "))
        }
        if let tests = plan.testArtifacts {
            lines.append(
                "  test artifacts (kept with the build log, not deployed): \(root(tests.baseDirectory))/ "
                    + "(\(tests.files.joined(separator: ", ")))")
        }
        if !plan.variables.isEmpty {
            lines.append(
                "  env: " + plan.variables.keys.sorted().map { "\($0)=\(plan.variables[$0]!)" }.joined(separator: " "))
        }
        return lines.joined(separator: "\n")
    }

    /// `path` (relative to the app root, `.` or `../` allowed) from the repository root; `.` for the
    /// root. A path above the root is shown as written, said to be outside (a build refuses it).
    static func repositoryPath(_ path: String, in appRoot: String) -> String {
        guard let resolved = RelativePath.resolve(appRoot + "/" + path) else {
            return path + " (outside the repository)"
        }
        return resolved.isEmpty ? "." : resolved
    }

    /// A cache path as a build resolves it: HOME and absolute paths as they are, the rest from the root.
    static func cacheEntry(in appRoot: String) -> (String) -> String {
        { path in
            let excluded = path.hasPrefix("!")
            let bare = excluded ? String(path.dropFirst()) : path
            let resolved =
                bare.hasPrefix("~") || bare.hasPrefix("$HOME") || bare.hasPrefix("/")
                ? bare : repositoryPath(bare, in: appRoot)
            return (excluded ? "!" : "") + resolved
        }
    }

    /// A Sites file is checked against the other Sites files of its folder, as the server would load
    /// them: a hostname another file already claims is an error at this file's line.
    static func checkAgainstNeighbours(_ site: SiteConfig, path: String, capabilities: RuleCapabilities) throws {
        let folder = (path as NSString).deletingLastPathComponent
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder.isEmpty ? "." : folder)) ?? []
        let others = files.filter { $0.hasSuffix(".yml") || $0.hasSuffix(".yaml") }
            .map { folder.isEmpty ? $0 : folder + "/" + $0 }
            .filter { ($0 as NSString).standardizingPath != (path as NSString).standardizingPath }
            .compactMap { try? SiteCatalog.parse(file: $0, capabilities: capabilities) }
            .filter { $0.name != site.name }
            .sorted { $0.name < $1.name }
        try SitesSpec.checkConflicts(others + [site])
    }

    /// A Sites file has a top-level `repository:` key (or lives in a `Sites` folder).
    static func isSitesFile(path: String, text: String) -> Bool {
        if (path as NSString).deletingLastPathComponent.hasSuffix("Sites") { return true }
        return text.split(separator: "\n").contains { $0.hasPrefix("repository:") }
    }
}
