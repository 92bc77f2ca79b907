import Testing

@testable import CanopySpec

@Suite("SitesSpec")
struct SitesSpecTests {
    func parse(_ yaml: String, site: String = "shop") throws -> SiteConfig {
        try SitesSpec.parse(yaml, file: "Sites/\(site).yml", siteName: site, baseDirectory: "/srv/canopy/Sites")
    }

    func error(_ yaml: String) throws -> SpecError {
        try #require(throws: SpecError.self) { try parse(yaml) }
    }

    static let full = """
        repository: ../repos/shop.git
        credentials:
          username: deploy
          token: $GIT_TOKEN
        appRoot: ./apps/web/
        env:
          API_URL: https://api.example.com
        productionBranch: trunk
        buildTimeout: 30m
        retention: 5
        cleanupAfter: 1h
        webhookToken: s3cret
        notify: https://hooks.example.com/canopy
        commitDomain: "{commit}.{site}.commits.example.com"
        redirects:
          - source: /old
            target: /new
            status: 301
        customHeaders:
          - pattern: '**/*'
            headers:
              - key: X-Frame-Options
                value: DENY
        branches:
          trunk:
            domains: [Shop.Example.com, www.shop.example.com.]
            rollout: canary 10% 5m
            health: [/, /healthz]
            maxErrorRate: 5%
            retention: 20
          dev:
            domains: dev.shop.example.com
            env: { STAGE: dev }
            password: "team:se:cret"
            rollout: Linear10PercentEvery1Minute
            maxErrorRate: 0.02
            noindex: true
        previews:
          - branches: "feature/**"
            domain: "{branch}.preview.example.com"
            password: "qa:pw"
          - branches: "*"
            domain: "{branch}.{site}.example.com"
        pullRequests:
          domain: "pr-{number}.shop.example.com"
        """

    @Test("the full schema is read")
    func fullSchema() throws {
        let site = try parse(Self.full)
        #expect(site.name == "shop")
        #expect(site.repository == "../repos/shop.git")
        #expect(site.repositoryLocation == "/srv/canopy/repos/shop.git")
        #expect(site.credentials == RepositoryCredentials(username: "deploy", password: "$GIT_TOKEN"))
        #expect(site.appRoot == "apps/web")
        #expect(site.env == ["API_URL": "https://api.example.com"])
        #expect(site.productionBranch == "trunk")
        #expect(site.buildTimeoutSeconds == 1800)
        #expect(site.retention == 5)
        #expect(site.deletedBranchRetentionSeconds == 3600)
        #expect(site.webhookToken == "s3cret")
        #expect(site.notifyURL == "https://hooks.example.com/canopy")
        #expect(site.commitDomain == "{commit}.{site}.commits.example.com")
        #expect(site.redirects.map(\.source) == ["/old"])
        #expect(site.redirects.first?.status == .redirect(301))
        #expect(site.headers.first?.headers == [HeaderField(name: "X-Frame-Options", value: "DENY")])
        #expect(site.warnings.isEmpty)

        #expect(site.branches.map(\.branch) == ["trunk", "dev"])
        let trunk = site.branches[0]
        #expect(trunk.domains == ["shop.example.com", "www.shop.example.com"])
        #expect(trunk.settings.rollout == .canary(percent: 10, seconds: 300))
        #expect(trunk.settings.health == ["/", "/healthz"])
        #expect(trunk.settings.maxErrorRate == 0.05)
        #expect(trunk.settings.retention == 20)
        #expect(trunk.location?.line == 25)
        let dev = site.branches[1]
        #expect(dev.domains == ["dev.shop.example.com"])
        #expect(dev.settings.env == ["STAGE": "dev"])
        #expect(dev.settings.password == BasicCredential(user: "team", password: "se:cret"))
        #expect(dev.settings.rollout == .linear(percent: 10, seconds: 60))
        #expect(dev.settings.maxErrorRate == 0.02)
        #expect(dev.settings.noindex)

        #expect(site.previews.map(\.pattern) == ["feature/**", "*"])
        #expect(site.previews[0].settings.password == BasicCredential(user: "qa", password: "pw"))
        #expect(site.previews[0].settings.noindex)
        #expect(site.pullRequests?.domain == "pr-{number}.shop.example.com")
    }

    @Test("repository: relative paths become absolute, ~ expands, URLs are kept")
    func repositoryForms() throws {
        #expect(try parse("repository: repos/a.git").repositoryLocation == "/srv/canopy/Sites/repos/a.git")
        #expect(try parse("repository: /var/git/a.git").repositoryLocation == "/var/git/a.git")
        #expect(!(try parse("repository: ~/a.git").repositoryLocation.hasPrefix("~")))
        for url in [
            "https://github.com/o/r.git", "ssh://git@host/r.git", "git@github.com:o/r.git", "file:///var/git/r.git",
        ] {
            #expect(try parse("repository: \(url)").repositoryLocation == url)
        }
        let missing = try error("branches:\n  main:\n    domains: [a.example.com]\n")
        #expect(missing.description.contains("repository"))
    }

    @Test("durations: 90s, 30m, 1h, plain seconds; nonsense is an error at its line")
    func durations() throws {
        #expect(try parse("repository: r\nbuildTimeout: 90s").buildTimeoutSeconds == 90)
        #expect(try parse("repository: r\nbuildTimeout: 30m").buildTimeoutSeconds == 1800)
        #expect(try parse("repository: r\nbuildTimeout: 1h").buildTimeoutSeconds == 3600)
        #expect(try parse("repository: r\nbuildTimeout: 600").buildTimeoutSeconds == 600)
        #expect(try parse("repository: r\ncleanupAfter: 0").deletedBranchRetentionSeconds == 0)
        let bad = try error("repository: r\nbuildTimeout: soon\n")
        #expect(bad.diagnostics.map(\.location.line) == [2])
        #expect(try error("repository: r\nbuildTimeout: 0\n").diagnostics.map(\.location.line) == [2])
    }

    @Test("invalid hostnames are errors at their line")
    func invalidHostnames() throws {
        for host in [
            "bad_host.example.com", "-x.example.com", "a..b.com", String(repeating: "a", count: 64) + ".com",
            "exämple.com",
        ] {
            let failure = try error("repository: r\nbranches:\n  main:\n    domains:\n      - \"\(host)\"\n")
            #expect(failure.diagnostics.map(\.location.line) == [5], "\(host)")
            #expect(failure.description.contains("not a valid hostname"))
        }
    }

    @Test("a hostname used twice in one file is an error naming the first line")
    func duplicateHostnames() throws {
        let failure = try error(
            """
            repository: r
            branches:
              main:
                domains: [example.com]
              dev:
                domains:
                  - EXAMPLE.com
            """)
        #expect(failure.diagnostics.map(\.location.line) == [7])
        #expect(failure.description.contains("line 4"))
    }

    @Test("templates: the required placeholder, known placeholders only, valid hostnames")
    func templates() throws {
        let unknown = try error(
            "repository: r\npreviews:\n  - branches: '*'\n    domain: '{branch}.{team}.example.com'\n")
        #expect(unknown.diagnostics.map(\.location.line) == [4])
        #expect(unknown.description.contains("{team}"))
        let noBranch = try error("repository: r\npreviews:\n  - branches: '*'\n    domain: 'preview.example.com'\n")
        #expect(noBranch.description.contains("{branch}"))
        let noCommit = try error("repository: r\ncommitDomain: '{site}.example.com'\n")
        #expect(noCommit.description.contains("{commit}"))
        let noNumber = try error("repository: r\npullRequests:\n  domain: '{branch}.example.com'\n")
        #expect(noNumber.description.contains("{number}"))
        let badHost = try error("repository: r\npreviews:\n  - branches: '*'\n    domain: '{branch}_x.example.com'\n")
        #expect(badHost.description.contains("valid hostnames"))
        let noDomain = try error("repository: r\npreviews:\n  - branches: '*'\n")
        #expect(noDomain.diagnostics.map(\.location.line) == [3])
    }

    @Test("password must be user:secret")
    func password() throws {
        for bad in ["nocolon", ":secret", "user:"] {
            let failure = try error(
                "repository: r\nbranches:\n  main:\n    domains: [a.example.com]\n    password: '\(bad)'\n")
            #expect(failure.diagnostics.map(\.location.line) == [5], "\(bad)")
        }
    }

    @Test("rollout forms")
    func rolloutForms() throws {
        #expect(RolloutStrategy.parse("canary 10% 5m") == .canary(percent: 10, seconds: 300))
        #expect(RolloutStrategy.parse("Canary 25% 90s") == .canary(percent: 25, seconds: 90))
        #expect(RolloutStrategy.parse("linear 10% every 1m") == .linear(percent: 10, seconds: 60))
        #expect(RolloutStrategy.parse("Canary10Percent5Minutes") == .canary(percent: 10, seconds: 300))
        #expect(RolloutStrategy.parse("Canary10Percent30Minutes") == .canary(percent: 10, seconds: 1800))
        #expect(RolloutStrategy.parse("Linear10PercentEvery1Minute") == .linear(percent: 10, seconds: 60))
        #expect(RolloutStrategy.parse("Linear10PercentEvery3Minutes") == .linear(percent: 10, seconds: 180))
        #expect(RolloutStrategy.parse("all-at-once") == .allAtOnce)
        #expect(RolloutStrategy.parse("AllAtOnce") == .allAtOnce)
        for bad in ["canary", "canary 0% 5m", "canary 150% 5m", "canary 10% soon", "linear 10% 1m", "blue-green", ""] {
            #expect(RolloutStrategy.parse(bad) == nil, "\(bad)")
        }
        let failure = try error(
            "repository: r\nbranches:\n  main:\n    domains: [a.example.com]\n    rollout: sometimes\n")
        #expect(failure.diagnostics.map(\.location.line) == [5])
        #expect(failure.description.contains("sometimes"))
    }

    @Test("health paths start with /; maxErrorRate as a percentage or a share")
    func healthAndErrorRate() throws {
        let bad = try error("repository: r\nbranches:\n  main:\n    domains: [a.example.com]\n    health: [healthz]\n")
        #expect(bad.diagnostics.map(\.location.line) == [5])
        func rate(_ text: String) throws -> Double? {
            try parse("repository: r\nbranches:\n  main:\n    domains: [a.example.com]\n    maxErrorRate: \(text)\n")
                .branches.first?.settings.maxErrorRate
        }
        #expect(try rate("5%") == 0.05)
        #expect(try rate("0.05") == 0.05)
        #expect(try rate("0") == 0)
        #expect(
            try error("repository: r\nbranches:\n  main:\n    maxErrorRate: lots\n").diagnostics.map(\.location.line)
                == [4])
        #expect(
            try error("repository: r\nbranches:\n  main:\n    maxErrorRate: 150%\n").diagnostics.map(\.location.line)
                == [4])
    }

    @Test("unknown keys are warnings with their lines")
    func unknownKeys() throws {
        let site = try parse(
            "repository: r\ncolour: blue\nbranches:\n  main:\n    domains: [a.example.com]\n    speed: fast\n")
        #expect(site.warnings.map(\.location.line) == [2, 6])
        let empty = try parse("repository: r\nbranches:\n  wip:\n")
        #expect(empty.warnings.map(\.location.line) == [3])
    }

    @Test("environment(for:): an explicit branch beats previews; the first matching preview wins")
    func environmentPrecedence() throws {
        let site = try parse(Self.full)
        let trunk = try #require(SitesSpec.environment(for: "trunk", commit: "abc", in: site))
        #expect(trunk.kind == .branch)
        #expect(trunk.domains == ["shop.example.com", "www.shop.example.com"])
        let feature = try #require(SitesSpec.environment(for: "feature/Login_Page", commit: "abc", in: site))
        #expect(feature.kind == .preview)
        #expect(feature.domains == ["feature-login-page.preview.example.com"])
        #expect(feature.settings.password?.user == "qa")
        let other = try #require(SitesSpec.environment(for: "hotfix", commit: nil, in: site))
        #expect(other.domains == ["hotfix.shop.example.com"])
        #expect(other.settings.password == nil)
        let strict = try parse("repository: r\nbranches:\n  main:\n    domains: [a.example.com]\n")
        #expect(SitesSpec.environment(for: "dev", commit: nil, in: strict) == nil)
    }

    @Test("pull requests and per-commit hostnames")
    func pullRequestsAndCommits() throws {
        let site = try parse(Self.full)
        let pr = try #require(SitesSpec.pullRequestEnvironment(number: 42, in: site))
        #expect(pr.kind == .pullRequest)
        #expect(pr.branch == "pr-42")
        #expect(pr.domains == ["pr-42.shop.example.com"])
        #expect(SitesSpec.commitHostname(commit: "ABCDEF0123456789", in: site) == "abcdef0.shop.commits.example.com")
        let plain = try parse("repository: r\npullRequests:\n  domain: 'pr-{number}.example.com'\n  enabled: false\n")
        #expect(plain.pullRequests == nil)
        #expect(SitesSpec.pullRequestEnvironment(number: 1, in: plain) == nil)
        #expect(SitesSpec.commitHostname(commit: "abc", in: plain) == nil)
    }

    /// The per-commit hostname maker a route plan uses gives the same names as `commitHostname`,
    /// including a label that DNS's 63-character limit cuts and commits it cannot splice.
    @Test func commitHostnamesSplicedAsFilled() throws {
        let long = String(repeating: "l", count: 60)
        for template in ["{commit}.c.example.com", "c-{commit}-{site}.example.com", "{commit}\(long).example.com"] {
            let site = try parse("repository: r\ncommitDomain: '\(template)'\n", site: "shop")
            let maker = SitesSpec.CommitHostnames(site)
            for commit in ["ABCDEF0123456789", "abc", "0123456789abcdef0123456789abcdef01234567"] {
                #expect(maker.hostname(commit: commit) == SitesSpec.commitHostname(commit: commit, in: site))
            }
        }
        let none = try parse("repository: r\n")
        #expect(SitesSpec.CommitHostnames(none).hostname(commit: "abcdef0") == nil)
    }

    @Test("checkConflicts names both sites")
    func conflicts() throws {
        let a = try parse("repository: r\nbranches:\n  main:\n    domains: [example.com]\n", site: "alpha")
        let b = try parse(
            "repository: r\nbranches:\n  prod:\n    domains: [www.example.com, example.com]\n", site: "beta")
        let c = try parse("repository: r\nbranches:\n  main:\n    domains: [other.example.com]\n", site: "gamma")
        try SitesSpec.checkConflicts([a, c])
        let failure = try #require(throws: SpecError.self) { try SitesSpec.checkConflicts([b, a, c]) }
        #expect(failure.diagnostics.count == 1)
        #expect(failure.description.contains("alpha/main"))
        #expect(failure.description.contains("beta/prod"))
        #expect(failure.description.contains("example.com"))
        // The error is at the later claimant's file, and names the owner (issue #14: it read backwards).
        #expect(failure.description.contains("hostname example.com of alpha/main is already claimed by beta/prod"))
        #expect(failure.diagnostics.first?.location.file == a.file)
    }

    /// Issue #15: one site's preview template could take another site's preview hostnames (a
    /// warning only). Two sites whose templates can make one hostname are an error at the later file.
    @Test("preview templates of two sites may not overlap")
    func previewTemplatesOfTwoSites() throws {
        let a = try parse(
            "repository: r\npreviews:\n  - branches: '*'\n    domain: '{branch}.preview.example.com'\n", site: "alpha")
        let b = try parse(
            "repository: r\npullRequests: { domain: 'pr-{number}.preview.example.com' }\n", site: "beta")
        let c = try parse(
            "repository: r\npreviews:\n  - branches: '*'\n    domain: '{branch}.{site}.example.com'\n", site: "gamma")
        let d = try parse(
            "repository: r\npreviews:\n  - branches: '*'\n    domain: '{branch}-preview.example.com'\n", site: "delta")
        try SitesSpec.checkConflicts([a, c, d])  // different suffixes or label counts: no overlap
        let failure = try #require(throws: SpecError.self) { try SitesSpec.checkConflicts([a, b]) }
        #expect(failure.description.contains("pr-{number}.preview.example.com of beta"))
        #expect(failure.description.contains("{branch}.preview.example.com of alpha"))
        #expect(failure.diagnostics.first?.location.file == b.file)
        #expect(SitesSpec.patternsOverlap(["x-*"], ["*-y"]))
        #expect(!SitesSpec.patternsOverlap(["a*"], ["b*"]))
        #expect(!SitesSpec.patternsOverlap(["pr-*", "x"], ["pr-*", "y"]))
    }

    @Test("a preview never captures a hostname an explicit branch owns")
    func previewCannotHijack() throws {
        let site = try parse(
            """
            repository: r
            branches:
              main:
                domains: [www.example.com]
            previews:
              - branches: "*"
                domain: "{branch}.example.com"
            """)
        #expect(SitesSpec.environment(for: "www", commit: nil, in: site) == nil)
        #expect(SitesSpec.environment(for: "wip", commit: nil, in: site)?.domains == ["wip.example.com"])
    }

    @Test("a filled-in label longer than 63 characters is cut to a valid, distinct label")
    func longFilledLabel() throws {
        let site = try parse(
            "repository: r\npreviews:\n  - branches: '**'\n    domain: '{branch}-{site}.example.com'\n",
            site: "a-rather-long-site-name")
        let prefix = "feature/" + String(repeating: "long-", count: 7)
        let a = try #require(SitesSpec.environment(for: prefix + "one", commit: nil, in: site)?.domains.first)
        let b = try #require(SitesSpec.environment(for: prefix + "two", commit: nil, in: site)?.domains.first)
        #expect(a != b)
        for host in [a, b] {
            #expect(SitesSpec.hostnameProblem(host) == nil, "\(host)")
            #expect(host.hasSuffix(".example.com"))
        }
    }

    @Test("commitDomain cannot use {branch}: a commit's hostname does not depend on a branch")
    func commitDomainPlaceholders() throws {
        let failure = try error("repository: r\ncommitDomain: '{commit}.{branch}.example.com'\n")
        #expect(failure.diagnostics.map(\.location.line) == [2])
        #expect(failure.description.contains("{branch}"))
    }

    @Test("pullRequests: enabled: false wins wherever it is written; a missing domain is an error")
    func pullRequestsEnabled() throws {
        let first = try parse("repository: r\npullRequests:\n  enabled: false\n  domain: 'pr-{number}.example.com'\n")
        #expect(first.pullRequests == nil)
        let on = try parse(
            "repository: r\npullRequests:\n  enabled: true\n  domain: 'pr-{number}.example.com'\n  noindex: false\n")
        #expect(on.pullRequests?.settings.noindex == false)
        let noDomain = try error("repository: r\npullRequests:\n  enabled: true\n")
        #expect(noDomain.diagnostics.map(\.location.line) == [3])
    }
}
