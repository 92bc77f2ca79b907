extension SitesSpec {
    /// What the Sites file says about a branch: an explicit `branches:` entry wins; otherwise the first
    /// matching preview pattern whose filled-in domain no explicit branch owns; nil when the branch is
    /// not connected.
    public static func environment(for branch: String, commit: String?, in site: SiteConfig) -> BranchEnvironmentConfig?
    {
        if let rule = site.branches.first(where: { $0.branch == branch }) {
            return BranchEnvironmentConfig(
                site: site.name, branch: branch, kind: .branch, domains: rule.domains, settings: rule.settings)
        }
        // A preview never takes a hostname an explicit branch owns: branch `www` with the preview
        // domain `{branch}.example.com` must not capture production's www.example.com.
        for preview in site.previews where preview.glob.matches(branch) {
            let domain = fill(preview.domain, branch: branch, site: site.name, commit: commit, number: nil)
            if site.branches.contains(where: { $0.domains.contains(domain) }) { continue }
            return BranchEnvironmentConfig(
                site: site.name, branch: branch, kind: .preview, domains: [domain], settings: preview.settings)
        }
        return nil
    }

    /// The preview of pull (merge) request `number`, when the Sites file enables them; its branch is `pr-<n>`.
    public static func pullRequestEnvironment(number: Int, in site: SiteConfig) -> BranchEnvironmentConfig? {
        guard let rule = site.pullRequests else { return nil }
        let branch = "pr-\(number)"
        let domain = fill(rule.domain, branch: branch, site: site.name, commit: nil, number: number)
        return BranchEnvironmentConfig(
            site: site.name, branch: branch, kind: .pullRequest, domains: [domain], settings: rule.settings)
    }

    /// The immutable per-commit hostname of a deployment, from `commitDomain`.
    public static func commitHostname(commit: String, in site: SiteConfig) -> String? {
        guard let template = site.commitDomain else { return nil }
        return fill(template, branch: nil, site: site.name, commit: commit, number: nil)
    }

    /// Per-commit hostnames of one site made by splicing the commit into the template filled once
    /// (a route plan makes one per live deployment); the same names as `commitHostname(commit:in:)`.
    public struct CommitHostnames: Sendable {
        let site: SiteConfig
        /// The filled template around the commit, when the commit's label stays within DNS's limit.
        let around: (prefix: String, suffix: String)?

        public init(_ site: SiteConfig) {
            self.site = site
            let marker = "\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}"  // seven characters, as a commit's prefix
            if let template = site.commitDomain,
                case let filled = SitesSpec.fill(template, branch: nil, site: site.name, commit: marker, number: nil),
                let range = filled.range(of: marker), filled.components(separatedBy: marker).count == 2
            {
                around = (String(filled[..<range.lowerBound]), String(filled[range.upperBound...]))
            } else {
                around = nil
            }
        }

        public func hostname(commit: String) -> String? {
            guard site.commitDomain != nil else { return nil }
            guard let around, commit.utf8.count >= 7, commit.utf8.allSatisfy({ $0 < 0x80 }) else {
                return SitesSpec.commitHostname(commit: commit, in: site)
            }
            return around.prefix + String(commit.prefix(7)).lowercased() + around.suffix
        }
    }

    static func fill(_ template: String, branch: String?, site: String, commit: String?, number: Int?) -> String {
        var out = template
        if let branch { out = out.replacingOccurrences(of: "{branch}", with: DNSLabel.make(branch)) }
        out = out.replacingOccurrences(of: "{site}", with: DNSLabel.make(site))
        out = out.replacingOccurrences(of: "{commit}", with: String((commit ?? "0000000").prefix(7)).lowercased())
        if let number { out = out.replacingOccurrences(of: "{number}", with: String(number)) }
        // `{branch}-{site}` can make one label longer than DNS allows: cut it (keeping a hash) as
        // DNSLabel does for a single name, so the hostname stays valid and distinct.
        return out.split(separator: ".", omittingEmptySubsequences: false)
            .map { $0.count > 63 ? DNSLabel.make(String($0)) : String($0) }
            .joined(separator: ".")
    }

    /// Two sites claiming one explicit hostname is an error naming both. `sites` are in the order
    /// they claim: a hostname belongs to the first that names it, and the error is at the later
    /// one's line (the file that is refused). Without an order of their own, pass them sorted.
    public static func checkConflicts(_ sites: [SiteConfig]) throws {
        var owners: [String: (site: SiteConfig, branch: BranchRule)] = [:]
        var errors: [SpecDiagnostic] = []
        for site in sites {
            for branch in site.branches {
                for host in branch.domains {
                    if let owner = owners[host], owner.site.name != site.name {
                        let at = branch.location ?? SourceLocation(file: site.file, line: 1, column: 1)
                        let first = owner.branch.location.map(\.description) ?? owner.site.file
                        errors.append(
                            SpecDiagnostic(
                                .error, at: at,
                                "hostname \(host) of \(site.name)/\(branch.branch) is already claimed by \(owner.site.name)/\(owner.branch.branch) (\(first))"
                            ))
                    } else if owners[host] == nil {
                        owners[host] = (site, branch)
                    }
                }
            }
        }
        // Preview, pull-request and per-commit templates of two sites that can make one hostname.
        var templates: [(site: SiteConfig, template: String, pattern: [String])] = []
        for site in sites {
            for template in site.previews.map(\.domain)
                + [site.pullRequests?.domain, site.commitDomain].compactMap({ $0 })
            {
                let pattern = Self.templatePattern(template, site: site.name)
                if let owner = templates.first(where: {
                    $0.site.name != site.name && Self.patternsOverlap($0.pattern, pattern)
                }) {
                    errors.append(
                        SpecDiagnostic(
                            .error, at: SourceLocation(file: site.file, line: 1, column: 1),
                            "the domain template \(template) of \(site.name) can make the same hostnames as \(owner.template) of \(owner.site.name) (\(owner.site.file)); give one of them its own domain"
                        ))
                } else {
                    templates.append((site, template, pattern))
                }
            }
        }
        if !errors.isEmpty { throw SpecError(errors) }
    }

    /// A domain template's labels with each placeholder as `*` (`{site}` filled in).
    static func templatePattern(_ template: String, site: String) -> [String] {
        var text = template.replacingOccurrences(of: "{site}", with: DNSLabel.make(site)).lowercased()
        while let open = text.firstIndex(of: "{"), let close = text[open...].firstIndex(of: "}") {
            text.replaceSubrange(open...close, with: "*")
        }
        return text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    }

    /// Whether two label patterns can match one hostname: the same number of labels, and each pair
    /// of labels compatible (equal, or a `*` whose fixed start and end the other can have).
    static func patternsOverlap(_ a: [String], _ b: [String]) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { x, y in
            guard x.contains("*") || y.contains("*") else { return x == y }
            let xStart = x.prefix { $0 != "*" }, yStart = y.prefix { $0 != "*" }
            let xEnd = String(x.reversed().prefix { $0 != "*" }.reversed())
            let yEnd = String(y.reversed().prefix { $0 != "*" }.reversed())
            let starts =
                x.contains("*") && y.contains("*") ? (xStart.hasPrefix(yStart) || yStart.hasPrefix(xStart)) : true
            let ends = x.contains("*") && y.contains("*") ? (xEnd.hasSuffix(yEnd) || yEnd.hasSuffix(xEnd)) : true
            if !x.contains("*") {
                return x.hasPrefix(yStart) && x.hasSuffix(yEnd) && x.count >= yStart.count + yEnd.count
            }
            if !y.contains("*") {
                return y.hasPrefix(xStart) && y.hasSuffix(xEnd) && y.count >= xStart.count + xEnd.count
            }
            return starts && ends
        }
    }
}
