import CanopySpec
import Foundation

/// The rule files a deployment may carry, validated at deploy time so that a broken one fails the
/// build (with its file and line) instead of failing visitors.
enum RuleFiles {
    /// Netlify's files, read from the published artifacts.
    static let artifactFiles = ["_redirects", "_headers"]
    /// Files read from the application root of the repository (or its root): Amplify's, and
    /// `netlify.toml` for its `[[redirects]]` and `[[headers]]`.
    static let repositoryFiles = ["customHttp.yml", "redirects.json", "netlify.toml"]

    /// What validation found: the first problem (the build fails with it), or nil, and the warnings
    /// about lines the files' hosts would ignore (each with its file:line).
    struct Findings: Sendable {
        var problem: String?
        var warnings: [String] = []
    }

    /// Parses every rule file present, as an edge with `capabilities` reads them.
    static func validate(artifactDirectory: String, capabilities: RuleCapabilities = .basic) -> Findings {
        var findings = Findings()
        for name in artifactFiles + repositoryFiles {
            let path = artifactDirectory + "/" + name
            if isSymbolicLink(path) { return Findings(problem: linkRefusal(name), warnings: findings.warnings) }
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            do {
                findings.warnings += try parse(name: name, text: text, capabilities: capabilities).map(\.logLine)
            } catch {
                findings.problem = "\(name) is invalid:\n\(error)"
                return findings
            }
        }
        return findings
    }

    /// Copies `customHttp.yml` and `redirects.json` from the application root (or the repository root)
    /// into the artifacts when the build did not put its own there; amplify.yml's `customHeaders` become
    /// a `customHttp.yml` when there is none. Returns the warnings of a monorepo customHttp.yml (it
    /// is rewritten, so `validate` no longer sees its lines).
    @discardableResult
    static func carry(
        from source: String, appRoot: String, customHeaders: [HeaderRule], into artifacts: String
    ) throws -> [SpecDiagnostic] {
        let fm = FileManager.default
        var warnings: [SpecDiagnostic] = []
        for name in repositoryFiles where !fm.fileExists(atPath: artifacts + "/" + name) {
            guard let origin = origin(of: name, source: source, appRoot: appRoot) else { continue }
            if isSymbolicLink(origin) { throw CanopyError(linkRefusal(name)) }
            if name == "customHttp.yml", let text = try? String(contentsOfFile: origin, encoding: .utf8),
                RulesSpec.isMonorepoCustomHTTP(text)
            {
                // The monorepo form: this application's section becomes the deployment's customHttp.yml
                // (errors name the repository's file and its lines).
                let parsed = try RulesSpec.readCustomHTTP(yaml: text, file: name, appRoot: appRoot)
                warnings += parsed.warnings
                try customHTTPYAML(parsed.rules, from: "customHttp.yml's application '\(appRoot)'").write(
                    toFile: artifacts + "/" + name, atomically: true, encoding: .utf8)
                continue
            }
            try fm.copyItem(atPath: origin, toPath: artifacts + "/" + name)
        }
        if !customHeaders.isEmpty && !fm.fileExists(atPath: artifacts + "/customHttp.yml") {
            try customHTTPYAML(customHeaders).write(
                toFile: artifacts + "/customHttp.yml", atomically: true, encoding: .utf8)
        }
        return warnings
    }

    /// Where a build finds a repository file (`customHttp.yml`, `redirects.json`, `netlify.toml`,
    /// `canopy-rules-test.yml`): the application root's, else the repository root's; nil when neither has it.
    static func origin(of name: String, source: String, appRoot: String) -> String? {
        let roots = appRoot.isEmpty ? [source] : [source + "/" + appRoot, source]
        return roots.map { $0 + "/" + name }.first { FileManager.default.fileExists(atPath: $0) }
    }

    /// Rule files (and amplify.yml) are read by the server, so one that is a link could show it a file
    /// from elsewhere on the machine; they must be plain files.
    static func isSymbolicLink(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK
    }

    static func linkRefusal(_ name: String) -> String {
        "\(name) is a symbolic link; Canopy reads only a plain file there, so commit (or build) the file itself"
    }

    /// `customHttp.yml` text for header rules.
    static func customHTTPYAML(_ rules: [HeaderRule], from origin: String = "amplify.yml's customHeaders") -> String {
        func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }
        var yaml = "# From \(origin).\ncustomHeaders:\n"
        if rules.isEmpty { yaml = "# From \(origin): none.\ncustomHeaders: []\n" }
        for rule in rules {
            yaml += "  - pattern: \(quote(rule.pattern))\n    headers:\n"
            for header in rule.headers {
                yaml += "      - key: \(quote(header.name))\n        value: \(quote(header.value))\n"
            }
        }
        return yaml
    }

    /// Parses one rule file; returns its warnings.
    @discardableResult
    static func parse(name: String, text: String, capabilities: RuleCapabilities = .basic) throws -> [SpecDiagnostic] {
        try read(name: name, text: text, capabilities: capabilities).warnings
    }

    /// Parses one rule file (`name` says which kind; `file` is how its lines are cited) as an edge
    /// with `capabilities` reads it: its redirect rules (none for header files) and its warnings.
    static func read(
        name: String, text: String, file: String? = nil, capabilities: RuleCapabilities = .basic
    ) throws -> (redirects: [RedirectRule], warnings: [SpecDiagnostic]) {
        let file = file ?? name
        switch name {
        case "_redirects":
            let parsed = try RulesSpec.readNetlifyRedirects(text, file: file, capabilities: capabilities)
            return (parsed.rules, parsed.warnings)
        case "_headers": return ([], try RulesSpec.readNetlifyHeaders(text, file: file).warnings)
        case "customHttp.yml": return ([], try RulesSpec.readCustomHTTP(yaml: text, file: file).warnings)
        case "redirects.json":
            let parsed = try RulesSpec.readAmplifyRedirects(json: text, file: file, capabilities: capabilities)
            return (parsed.rules, parsed.warnings)
        case "netlify.toml":
            let parsed = try RulesSpec.parseNetlifyTOML(text, file: file, capabilities: capabilities)
            return (parsed.redirects, parsed.warnings)
        default: return ([], [])
        }
    }
}
