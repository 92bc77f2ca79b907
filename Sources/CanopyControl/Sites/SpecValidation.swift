import CanopySpec
import Foundation

/// `canopy validate FILE`: which kind of file it is, and whether it is valid.
public enum SpecValidation {
    public struct Result: Sendable {
        public var ok: Bool
        public var message: String
    }

    public static func validate(path: String, appRoot: String? = nil) -> Result {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            return Result(ok: false, message: "\(path): cannot read the file")
        }
        let name = (path as NSString).lastPathComponent
        do {
            switch name {
            case "_redirects", "_headers", "customHttp.yml", "redirects.json", "netlify.toml":
                let warnings = try RuleFiles.parse(name: name, text: text).map { "\n\($0)" }.joined()
                return Result(ok: true, message: "\(path): valid \(name)\(warnings)")
            default:
                if isSitesFile(path: path, text: text) {
                    let site = try SiteCatalog.parse(file: path)
                    let warnings = site.warnings.map { "\n\($0)" }.joined()
                    return Result(
                        ok: true,
                        message:
                            "\(path): valid Sites file for site '\(site.name)' (\(site.branches.count) branches, \(site.previews.count) preview patterns)\(warnings)"
                    )
                }
                let plan = try AmplifySpec.parse(text, file: path, appRoot: appRoot)
                let phases = plan.stages.map { stage in
                    "\(stage.kind.rawValue): "
                        + stage.phases.map { "\($0.name) (\($0.commands.count))" }.joined(separator: ", ")
                }
                let warnings = plan.warnings.map { "\n\($0)" }.joined()
                return Result(
                    ok: true,
                    message:
                        "\(path): valid amplify.yml; \(phases.isEmpty ? "no phases" : phases.joined(separator: "; ")); artifacts \(plan.artifacts.baseDirectory)\(warnings)"
                )
            }
        } catch {
            return Result(ok: false, message: "\(error)")
        }
    }

    /// A Sites file has a top-level `repository:` key (or lives in a `Sites` folder).
    static func isSitesFile(path: String, text: String) -> Bool {
        if (path as NSString).deletingLastPathComponent.hasSuffix("Sites") { return true }
        return text.split(separator: "\n").contains { $0.hasPrefix("repository:") }
    }
}
