import Foundation

extension SitesSpec {
    /// Parses a Sites file. `baseDirectory` (the file's folder) resolves a relative `repository:` path.
    /// Errors carry file:line:column; unknown keys are warnings in `SiteConfig.warnings`. A redirect
    /// with a `condition` (a country code) is accepted only with `capabilities.geoIP`.
    public static func parse(
        _ yaml: String, file: String, siteName: String, baseDirectory: String,
        capabilities: RuleCapabilities = .basic
    ) throws -> SiteConfig {
        let root = try YAMLValue.parse(yaml, file: file)
        var findings = DiagnosticCollector()
        var site = SiteConfig(name: siteName, file: file, repository: "", repositoryLocation: "")
        var claims = DomainClaims()
        var siteTLS = TLSSettings()

        for entry in try root.mapping("a Sites file") {
            findings.attempt { findings in
                switch entry.key {
                case "repository":
                    site.repository = try entry.value.string("repository")
                case "credentials": site.credentials = try credentials(entry.value, &findings)
                case "appRoot": site.appRoot = AmplifySpec.normalise(try entry.value.string("appRoot"))
                case "env": site.env = try entry.value.stringMap("env")
                case "skipBackend": site.skipBackend = try entry.value.bool("skipBackend")
                case "productionBranch": site.productionBranch = try entry.value.string("productionBranch")
                case "buildTimeout": site.buildTimeoutSeconds = try duration(entry.value, "buildTimeout")
                case "retention": site.retention = try positive(entry.value, "retention")
                case "cleanupAfter":
                    site.deletedBranchRetentionSeconds = try duration(entry.value, "cleanupAfter", allowZero: true)
                case "webhookToken": site.webhookToken = try entry.value.string("webhookToken")
                case "notify": site.notifyURL = try url(entry.value, "notify")
                case "acme": site.acme = try ACMESiteSettings.parse(entry.value, &findings)
                case "commitDomain":
                    site.commitDomain = try template(
                        entry.value, "commitDomain", required: "{commit}", allowed: ["commit", "site"])
                case "redirects":
                    var warnings: [SpecDiagnostic] = []
                    site.redirects = try RulesSpec.amplifyRedirects(
                        entry.value, warnings: &warnings, capabilities: capabilities)
                    findings.diagnostics += warnings
                case "customHeaders": site.headers = try RulesSpec.headerRules(entry.value, &findings)
                case "branches": site.branches = try branches(entry.value, claims: &claims, &findings)
                case "previews": site.previews = try previews(entry.value, &findings)
                case "pullRequests": site.pullRequests = try pullRequests(entry.value, &findings)
                case "tls", "https", "hsts":
                    _ = try tlsSetting(&siteTLS, entry, "")
                default:
                    findings.warn(entry.keyLocation, "unknown key '\(entry.key)' is ignored")
                }
            }
        }
        if site.repository.isEmpty {
            findings.error(
                SourceLocation(file: file, line: 1, column: 1), "a Sites file needs repository: (a path or a URL)")
        }
        try findings.throwIfErrors()
        site.repositoryLocation = resolveRepository(site.repository, baseDirectory: baseDirectory)
        applyTLSDefaults(&site, siteTLS, baseDirectory: baseDirectory)
        site.warnings = findings.warnings
        return site
    }

    static func resolveRepository(_ repository: String, baseDirectory: String) -> String {
        let remotes = ["https://", "http://", "ssh://", "git://", "file://", "git@"]
        if remotes.contains(where: { repository.hasPrefix($0) }) { return repository }
        let expanded = (repository as NSString).expandingTildeInPath
        let absolute = expanded.hasPrefix("/") ? expanded : baseDirectory + "/" + expanded
        return (absolute as NSString).standardizingPath
    }

    /// Settings shared by branches, previews and pull requests.
    static func settings(
        _ settings: inout EnvironmentSettings, _ field: (key: String, keyLocation: SourceLocation, value: YAMLValue),
        _ what: String,
        _ findings: inout DiagnosticCollector
    ) throws {
        switch field.key {
        case "env": settings.env = try field.value.stringMap("\(what).env")
        case "password":
            let text = try field.value.string("\(what).password")
            guard let colon = text.firstIndex(of: ":"), colon != text.startIndex,
                text.index(after: colon) != text.endIndex
            else {
                throw field.value.error("password must be user:secret")
            }
            settings.password = BasicCredential(
                user: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
        case "rollout":
            guard let strategy = RolloutStrategy.parse(try field.value.string("\(what).rollout")) else {
                throw field.value.error(
                    "unknown rollout '\(try field.value.string("rollout"))': use all-at-once, canary 10% 5m, linear 10% every 1m, Canary10Percent5Minutes or Linear10PercentEvery1Minute"
                )
            }
            settings.rollout = strategy
        case "health":
            settings.health = try field.value.strings("\(what).health").map { path, location in
                guard path.hasPrefix("/") else {
                    throw SpecError(at: location, "health paths start with /, not '\(path)'")
                }
                return path
            }
        case "maxErrorRate":
            let text = try field.value.string("\(what).maxErrorRate")
            let number = Double(text.hasSuffix("%") ? String(text.dropLast()) : text)
            guard let number, number >= 0 else { throw field.value.error("maxErrorRate is a share such as 5% or 0.05") }
            let share = text.hasSuffix("%") || number > 1 ? number / 100 : number
            guard share <= 1 else {
                throw field.value.error("maxErrorRate \(text) is more than 100%; use a share such as 5% or 0.05")
            }
            settings.maxErrorRate = share
        case "retention": settings.retention = try positive(field.value, "\(what).retention")
        case "noindex": settings.noindex = try field.value.bool("\(what).noindex")
        case "tls", "https", "hsts": _ = try tlsSetting(&settings.tls, field, "\(what).")
        default: findings.warn(field.keyLocation, "unknown key '\(what).\(field.key)' is ignored")
        }
    }

    static func positive(_ value: YAMLValue, _ what: String) throws -> Int {
        let n = try value.int(what)
        guard n >= 1 else { throw value.error("\(what) must be at least 1") }
        return n
    }

    /// `90s`, `30m`, `1h`, `2d` or a number of seconds.
    static func duration(_ value: YAMLValue, _ what: String, allowZero: Bool = false) throws -> Int {
        guard let seconds = parseDuration(try value.string(what)), seconds > 0 || (allowZero && seconds == 0) else {
            throw value.error("\(what) is a duration such as 90s, 30m or 1h")
        }
        return seconds
    }

    static func parseDuration(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Int)] = [("ms", 0), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, factor) in units where t.hasSuffix(suffix) && factor > 0 {
            guard let n = Int(t.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)) else { continue }
            return n * factor
        }
        return Int(t)
    }

    static func url(_ value: YAMLValue, _ what: String) throws -> String {
        let text = try value.string(what)
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            throw value.error("\(what) must be an http:// or https:// URL")
        }
        return text
    }

    /// A hostname as written, lowercased and checked.
    static func hostname(_ text: String, at location: SourceLocation) throws -> String {
        let host = text.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        guard let problem = hostnameProblem(host) else { return host }
        throw SpecError(at: location, "'\(text)' is not a valid hostname: \(problem)")
    }

    static func hostnameProblem(_ host: String) -> String? {
        if host.isEmpty { return "it is empty" }
        if host.count > 253 { return "it is longer than 253 characters" }
        for label in host.split(separator: ".", omittingEmptySubsequences: false) {
            if label.isEmpty { return "it has an empty label (two dots in a row)" }
            if label.count > 63 { return "the label '\(label)' is longer than 63 characters" }
            if label.hasPrefix("-") || label.hasSuffix("-") { return "the label '\(label)' starts or ends with '-'" }
            if !label.allSatisfy({ ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" }) {
                return "the label '\(label)' has characters other than a-z, 0-9 and '-'"
            }
        }
        return nil
    }

    /// A domain template: placeholders known, the required one present, the rest a valid hostname.
    static func template(_ value: YAMLValue, _ what: String, required: String, allowed: Set<String>) throws -> String {
        let text = try value.string(what).lowercased()
        var sample = text
        for match in text.matches(of: /\{([a-z]+)\}/) {
            let name = String(match.output.1)
            guard allowed.contains(name) else {
                throw value.error(
                    "\(what) uses {\(name)}; it may use \(allowed.sorted().map { "{\($0)}" }.joined(separator: ", "))")
            }
            sample = sample.replacingOccurrences(of: "{\(name)}", with: "x")
        }
        guard text.contains(required) else { throw value.error("\(what) must contain \(required)") }
        if let problem = hostnameProblem(sample) {
            throw value.error("\(what) does not make valid hostnames: \(problem)")
        }
        return text
    }
}

extension RolloutStrategy {
    /// `all-at-once`, `canary 10% 5m`, `linear 10% every 1m`, `Canary10Percent5Minutes`,
    /// `Linear10PercentEvery1Minute`, `AllAtOnce`.
    public static func parse(_ text: String) -> RolloutStrategy? {
        let t = text.trimmingCharacters(in: .whitespaces)
        let lower = t.lowercased()
        if ["all-at-once", "allatonce", "all at once", "immediate"].contains(lower) { return .allAtOnce }
        if let m = t.wholeMatch(of: /Canary(\d+)Percent(\d+)Minutes?/) {
            return .canary(percent: Int(m.output.1)!, seconds: Int(m.output.2)! * 60)
        }
        if let m = t.wholeMatch(of: /Linear(\d+)PercentEvery(\d+)Minutes?/) {
            return .linear(percent: Int(m.output.1)!, seconds: Int(m.output.2)! * 60)
        }
        if let m = lower.wholeMatch(of: /canary\s+(\d+)%\s+(\S+)/), let s = SitesSpec.parseDuration(String(m.output.2)),
            let p = Int(m.output.1), (1...100).contains(p), s > 0
        {
            return .canary(percent: p, seconds: s)
        }
        if let m = lower.wholeMatch(of: /linear\s+(\d+)%\s+every\s+(\S+)/),
            let s = SitesSpec.parseDuration(String(m.output.2)),
            let p = Int(m.output.1), (1...100).contains(p), s > 0
        {
            return .linear(percent: p, seconds: s)
        }
        return nil
    }
}
