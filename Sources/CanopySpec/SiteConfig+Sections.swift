/// The sections of a Sites file that hold more than one value: `credentials:`, `branches:`,
/// `previews:` and `pullRequests:` (`SitesSpec.parse` reads the rest).
extension SitesSpec {
    /// The hostnames a Sites file has claimed so far, each at its first line.
    struct DomainClaims {
        private var seen: [String: SourceLocation] = [:]

        /// Claims a hostname; a second claim is an error naming the first one's line.
        mutating func claim(_ host: String, _ location: SourceLocation, _ findings: inout DiagnosticCollector) {
            if let first = seen[host] {
                findings.error(location, "hostname \(host) is already used at line \(first.line) of this file")
            } else {
                seen[host] = location
            }
        }
    }

    /// `credentials:` (username, password or token, sshKey).
    static func credentials(
        _ value: YAMLValue, _ findings: inout DiagnosticCollector
    ) throws -> RepositoryCredentials {
        var credentials = RepositoryCredentials()
        for field in try value.mapping("credentials") {
            switch field.key {
            case "username": credentials.username = try field.value.string("credentials.username")
            case "password", "token":
                credentials.password = try field.value.string("credentials.\(field.key)")
            case "sshKey": credentials.sshKey = try field.value.string("credentials.sshKey")
            default: findings.warn(field.keyLocation, "unknown key 'credentials.\(field.key)' is ignored")
            }
        }
        return credentials
    }

    /// `branches:`: each branch with its domains (claimed) and settings.
    static func branches(
        _ value: YAMLValue, claims: inout DomainClaims, _ findings: inout DiagnosticCollector
    ) throws -> [BranchRule] {
        var rules: [BranchRule] = []
        for branch in try value.mapping("branches") {
            var rule = BranchRule(branch: branch.key, domains: [], location: branch.keyLocation)
            if !branch.value.isNull {
                for field in try branch.value.mapping("branches.\(branch.key)") {
                    if field.key == "domains" {
                        for (domain, location) in try field.value.strings("domains") {
                            let host = try hostname(domain, at: location)
                            claims.claim(host, location, &findings)
                            rule.domains.append(host)
                        }
                    } else {
                        try settings(&rule.settings, field, "branches.\(branch.key)", &findings)
                    }
                }
            }
            if rule.domains.isEmpty {
                findings.warn(branch.keyLocation, "branch \(branch.key) has no domains: it builds but is not served")
            }
            rules.append(rule)
        }
        return rules
    }

    /// `previews:`: branch patterns, each with its domain template and settings.
    static func previews(_ value: YAMLValue, _ findings: inout DiagnosticCollector) throws -> [PreviewRule] {
        var rules: [PreviewRule] = []
        for item in try value.items("previews") {
            var rule = PreviewRule(pattern: "", domain: "", location: item.location)
            for field in try item.mapping("a preview") {
                switch field.key {
                case "branches", "pattern": rule.pattern = try field.value.string("previews.branches")
                case "domain":
                    rule.domain = try template(
                        field.value, "previews.domain", required: "{branch}", allowed: ["branch", "site", "commit"])
                default: try settings(&rule.settings, field, "previews", &findings)
                }
            }
            if rule.pattern.isEmpty { throw item.error("a preview needs branches: \"pattern/*\"") }
            if rule.domain.isEmpty {
                throw item.error("a preview needs domain: \"{branch}.preview.example.com\"")
            }
            rules.append(rule)
        }
        return rules
    }

    /// `pullRequests:`: the domain template and settings; nil when `enabled: false`.
    static func pullRequests(
        _ value: YAMLValue, _ findings: inout DiagnosticCollector
    ) throws -> PullRequestRule? {
        var rule = PullRequestRule(domain: "")
        var enabled = true
        for field in try value.mapping("pullRequests") {
            if field.key == "domain" {
                rule.domain = try template(
                    field.value, "pullRequests.domain", required: "{number}", allowed: ["number", "site", "branch"])
            } else if field.key == "enabled" {
                enabled = try field.value.bool("pullRequests.enabled")
            } else {
                try settings(&rule.settings, field, "pullRequests", &findings)
            }
        }
        if enabled && rule.domain.isEmpty {
            throw value.error("pullRequests needs domain: \"pr-{number}.preview.example.com\"")
        }
        return enabled ? rule : nil
    }
}
