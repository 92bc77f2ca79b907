import CanopySpec
import Foundation

/// What `canopy validate` shows of rules (#14, "canopy validate shows the interpretation"): the
/// proxy rules with their upstreams (a 200 to an http(s) URL is fetched by the edge, not served
/// from the deployment: docs.netlify.com/routing/redirects/rewrites-proxies, "Proxy to another
/// service"), and how many cases a `canopy-rules-test.yml` holds.
extension SpecValidation {
    /// The rule files and the rules test a folder holds (a deployed folder, or a repository).
    static let folderFiles =
        ["amplify.yml"] + RuleFiles.artifactFiles + RuleFiles.repositoryFiles + [RulesSpec.rulesTestFileName]

    /// `canopy validate DIR`: each file of `folderFiles` that DIR holds, validated.
    static func validateFolder(_ folder: String, appRoot: String?, capabilities: RuleCapabilities) -> Result {
        let present = folderFiles.filter { FileManager.default.fileExists(atPath: folder + "/" + $0) }
        guard !present.isEmpty else {
            return Result(
                ok: false,
                message: "\(folder): no amplify.yml, rule file or \(RulesSpec.rulesTestFileName) in this folder")
        }
        let results = present.map {
            validate(path: folder + "/" + $0, appRoot: appRoot, companions: false, capabilities: capabilities)
        }
        return Result(ok: results.allSatisfy(\.ok), message: results.map(\.message).joined(separator: "\n"))
    }

    /// The proxy rules among `rules`, one line each with its upstream and file:line; "" when none.
    static func proxyLines(_ rules: [RedirectRule]) -> String {
        let proxies = rules.filter(\.isProxy)
        guard !proxies.isEmpty else { return "" }
        return "\n  proxies (the edge fetches these from the upstream):"
            + proxies.map { rule in
                let at = rule.location.map { "; \($0.file):\($0.line)" } ?? ""
                return "\n    \(rule.source) → \(rule.target) (upstream \(upstream(of: rule.target))\(at))"
            }.joined()
    }

    /// The scheme and authority of an absolute URL: where the edge connects.
    static func upstream(of target: String) -> String {
        guard let schemeEnd = target.range(of: "://") else { return target }
        let authority = target[schemeEnd.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        return String(target[..<schemeEnd.upperBound]) + authority
    }

    /// `canopy-rules-test.yml`: its cases counted, its warnings; a bad case is an error at its line.
    static func rulesTestSummary(path: String, text: String) throws -> String {
        let tests = try RulesSpec.readRulesTest(yaml: text, file: path)
        let count = tests.rules.count
        return "\(path): valid \(RulesSpec.rulesTestFileName), \(count) case\(count == 1 ? "" : "s") "
            + "(each runs against a new deployment before it goes live)"
            + tests.warnings.map { "\n\($0)" }.joined()
    }

    /// Beside an amplify.yml: the repository's rule files (customHttp.yml, redirects.json,
    /// netlify.toml) and `canopy-rules-test.yml`, found and read as a build finds and reads them
    /// (`RuleFiles.origin`, `RulesTestRun.load`: the app root's, else the repository root's).
    /// Lines for the interpretation; `ok` false when one is invalid.
    static func companions(
        ofSpec specPath: String, appRoot: String, capabilities: RuleCapabilities
    ) -> (ok: Bool, lines: String) {
        let folder = (specPath as NSString).deletingLastPathComponent
        let repository = folder.isEmpty ? "." : folder
        var lines = ""
        var ok = true
        for name in RuleFiles.repositoryFiles {
            guard let path = RuleFiles.origin(of: name, source: repository, appRoot: appRoot),
                let text = try? String(contentsOfFile: path, encoding: .utf8)
            else { continue }
            do {
                var parsed: (redirects: [RedirectRule], warnings: [SpecDiagnostic]) = ([], [])
                if name == "customHttp.yml" {
                    // Headers only; a monorepo file is read for this application, as a build carries it.
                    parsed.warnings = try RulesSpec.readCustomHTTP(
                        yaml: text, file: path, appRoot: RulesSpec.isMonorepoCustomHTTP(text) ? appRoot : nil
                    ).warnings
                } else {
                    parsed = try RuleFiles.read(name: name, text: text, file: path, capabilities: capabilities)
                }
                lines += "\n  rule file: \(path)" + proxyLines(parsed.redirects)
                lines += parsed.warnings.map { "\n\($0)" }.joined()
            } catch {
                ok = false
                lines += "\n\(error)"
            }
        }
        do {
            if let tests = try RulesTestRun.load(source: repository, appRoot: appRoot) {
                let count = tests.rules.count
                lines += "\n  rules test: \(tests.rules[0].source.file), \(count) case\(count == 1 ? "" : "s")"
                lines += tests.warnings.map { "\n\($0)" }.joined()
            }
        } catch {
            ok = false
            lines += "\n\(error)"
        }
        return (ok, lines)
    }
}
