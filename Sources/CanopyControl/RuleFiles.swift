import CanopySpec
import Foundation

/// The rule files a deployment may carry, validated at deploy time so that a broken one fails the
/// build (with its file and line) instead of failing visitors.
enum RuleFiles {
    /// Netlify's files, read from the published artifacts.
    static let artifactFiles = ["_redirects", "_headers"]
    /// Amplify's files, read from the application root of the repository.
    static let repositoryFiles = ["customHttp.yml", "redirects.json"]

    /// Parses every rule file present; returns the first problem as a message, or nil when all parse.
    static func validate(artifactDirectory: String) -> String? {
        for name in artifactFiles + repositoryFiles {
            let path = artifactDirectory + "/" + name
            if isSymbolicLink(path) { return linkRefusal(name) }
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            do {
                try parse(name: name, text: text)
            } catch {
                return "\(name) is invalid:\n\(error)"
            }
        }
        return nil
    }

    /// Copies `customHttp.yml` and `redirects.json` from the application root (or the repository root)
    /// into the artifacts when the build did not put its own there; amplify.yml's `customHeaders` become
    /// a `customHttp.yml` when there is none.
    static func carry(from source: String, appRoot: String, customHeaders: [HeaderRule], into artifacts: String) throws
    {
        let fm = FileManager.default
        let roots = appRoot.isEmpty ? [source] : [source + "/" + appRoot, source]
        for name in repositoryFiles where !fm.fileExists(atPath: artifacts + "/" + name) {
            guard let origin = roots.map({ $0 + "/" + name }).first(where: { fm.fileExists(atPath: $0) }) else {
                continue
            }
            if isSymbolicLink(origin) { throw CanopyError(linkRefusal(name)) }
            try fm.copyItem(atPath: origin, toPath: artifacts + "/" + name)
        }
        if !customHeaders.isEmpty && !fm.fileExists(atPath: artifacts + "/customHttp.yml") {
            try customHTTPYAML(customHeaders).write(
                toFile: artifacts + "/customHttp.yml", atomically: true, encoding: .utf8)
        }
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
    static func customHTTPYAML(_ rules: [HeaderRule]) -> String {
        func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }
        var yaml = "# From amplify.yml's customHeaders.\ncustomHeaders:\n"
        for rule in rules {
            yaml += "  - pattern: \(quote(rule.pattern))\n    headers:\n"
            for header in rule.headers {
                yaml += "      - key: \(quote(header.name))\n        value: \(quote(header.value))\n"
            }
        }
        return yaml
    }

    static func parse(name: String, text: String) throws {
        switch name {
        case "_redirects": _ = try RulesSpec.parseNetlifyRedirects(text, file: name)
        case "_headers": _ = try RulesSpec.parseNetlifyHeaders(text, file: name)
        case "customHttp.yml": _ = try RulesSpec.parseCustomHTTP(yaml: text, file: name)
        case "redirects.json": _ = try RulesSpec.parseAmplifyRedirects(json: text, file: name)
        default: break
        }
    }
}
