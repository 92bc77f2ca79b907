/// One site: a git repository plus its domain mapping file, `Sites/<name>.yml`.
///
/// ```yaml
/// repository: ../repos/example.git     # path (relative to this file) or file://, https://, ssh:// URL
/// appRoot: apps/web                    # optional: which amplify.yml application to build
/// env: { API_URL: https://api.example.com }
/// branches:
///   main: { domains: [example.com, www.example.com] }
///   dev:  { domains: [dev.example.com], env: { STAGE: dev }, password: "team:secret" }
/// previews:
///   - branches: "feature/*"
///     domain: "{branch}.preview.example.com"
/// ```
public struct SiteConfig: Sendable, Hashable {
    /// The file name without `.yml`; also `{site}` in domain templates and `AWS_APP_ID`.
    public var name: String
    /// The Sites file this came from, for messages.
    public var file: String
    /// The repository as written in the file.
    public var repository: String
    /// The repository resolved: an absolute path for local repositories, else the URL as written.
    public var repositoryLocation: String
    /// Credentials for a remote repository (values may name environment variables as `$NAME`).
    public var credentials: RepositoryCredentials?
    public var appRoot: String?
    /// `skipBackend: true`: builds leave out amplify.yml's backend phases (Amplify's AWS backend deploy).
    public var skipBackend = false
    public var env: [String: String]
    /// Explicit branch environments, in file order.
    public var branches: [BranchRule]
    /// Branch patterns that create preview environments, tried in order; the first match wins.
    public var previews: [PreviewRule]
    /// Previews for pull/merge-request refs (`refs/pull/<n>/head`), when enabled.
    public var pullRequests: PullRequestRule?
    /// Template for every deployment's immutable per-commit hostname, or nil for none.
    public var commitDomain: String?
    /// The branch whose build cache seeds new previews (default `main`).
    public var productionBranch: String
    /// A build is killed after this many seconds (default 30 minutes).
    public var buildTimeoutSeconds: Int
    /// Deployments kept per branch (default 10), besides any that a traffic policy points at.
    public var retention: Int
    /// How long a deleted branch's deployments are kept (default 1 hour; `cleanupAfter:`), so that
    /// its per-commit URLs outlive the branch a little.
    public var deletedBranchRetentionSeconds: Int = 3600
    /// Redirect and rewrite rules for every branch of the site, before the deployment's own.
    public var redirects: [RedirectRule]
    /// Custom headers for every branch of the site.
    public var headers: [HeaderRule]
    /// Token for the incoming webhook `POST /hooks/<site>?token=…`; nil disables it.
    public var webhookToken: String?
    /// Outgoing notification URL for build and deployment events.
    public var notifyURL: String?
    /// Findings that did not stop the file (unknown keys, …).
    public var warnings: [SpecDiagnostic]
    /// The `acme:` block (DNS-01 through RFC 2136), if any.
    public var acme: ACMESiteSettings? = nil
    /// The site-wide `tls:`, `https:` and `hsts:` (each rule's settings already include them).
    public var tls = TLSSettings()

    public init(
        name: String, file: String, repository: String, repositoryLocation: String,
        credentials: RepositoryCredentials? = nil, appRoot: String? = nil, env: [String: String] = [:],
        branches: [BranchRule] = [], previews: [PreviewRule] = [], pullRequests: PullRequestRule? = nil,
        commitDomain: String? = nil, productionBranch: String = "main", buildTimeoutSeconds: Int = 1800,
        retention: Int = 10, redirects: [RedirectRule] = [], headers: [HeaderRule] = [],
        webhookToken: String? = nil, notifyURL: String? = nil, warnings: [SpecDiagnostic] = []
    ) {
        self.name = name
        self.file = file
        self.repository = repository
        self.repositoryLocation = repositoryLocation
        self.credentials = credentials
        self.appRoot = appRoot
        self.env = env
        self.branches = branches
        self.previews = previews
        self.pullRequests = pullRequests
        self.commitDomain = commitDomain
        self.productionBranch = productionBranch
        self.buildTimeoutSeconds = buildTimeoutSeconds
        self.retention = retention
        self.redirects = redirects
        self.headers = headers
        self.webhookToken = webhookToken
        self.notifyURL = notifyURL
        self.warnings = warnings
    }
}

public struct RepositoryCredentials: Sendable, Hashable {
    public var username: String?
    /// A password or token; `$NAME` reads the environment variable NAME when used. Never logged.
    public var password: String?
    /// Path to an SSH private key for `ssh://` repositories.
    public var sshKey: String?

    public init(username: String? = nil, password: String? = nil, sshKey: String? = nil) {
        self.username = username
        self.password = password
        self.sshKey = sshKey
    }
}

/// How a new deployment of a branch takes its hostnames' traffic.
public enum RolloutStrategy: Sendable, Hashable, CustomStringConvertible {
    /// All traffic at once (the default).
    case allAtOnce
    /// `canary 10% 5m` / `Canary10Percent5Minutes`: `percent` first, the rest after `seconds`.
    case canary(percent: Int, seconds: Int)
    /// `linear 10% every 1m` / `Linear10PercentEvery1Minute`: `percent` more every `seconds`.
    case linear(percent: Int, seconds: Int)

    public var description: String {
        switch self {
        case .allAtOnce: "all-at-once"
        case .canary(let p, let s): "canary \(p)% \(s)s"
        case .linear(let p, let s): "linear \(p)% every \(s)s"
        }
    }
}

/// Settings shared by explicit branches, preview patterns and pull-request previews.
public struct EnvironmentSettings: Sendable, Hashable {
    public var env: [String: String]
    public var password: BasicCredential?
    public var rollout: RolloutStrategy
    /// Paths that must answer 2xx/3xx from a new deployment before it takes traffic.
    public var health: [String]
    /// During a rollout, roll back when the new deployment's share of 5xx (and 404) answers exceeds
    /// this fraction (0…1) over at least `minimumRequests` requests.
    public var maxErrorRate: Double
    /// Deployments kept for this environment; nil uses the site's retention.
    public var retention: Int?
    /// `X-Robots-Tag: noindex` on its hostnames (default: true for previews, false otherwise).
    public var noindex: Bool
    /// `tls:`, `https:` and `hsts:` (with the site's where unset).
    public var tls = TLSSettings()

    public init(
        env: [String: String] = [:], password: BasicCredential? = nil, rollout: RolloutStrategy = .allAtOnce,
        health: [String] = [], maxErrorRate: Double = 0.05, retention: Int? = nil, noindex: Bool = false
    ) {
        self.env = env
        self.password = password
        self.rollout = rollout
        self.health = health
        self.maxErrorRate = maxErrorRate
        self.retention = retention
        self.noindex = noindex
    }
}

/// An explicit branch in `branches:`.
public struct BranchRule: Sendable, Hashable {
    public var branch: String
    public var domains: [String]
    public var settings: EnvironmentSettings
    public var location: SourceLocation?

    public init(
        branch: String, domains: [String], settings: EnvironmentSettings = .init(), location: SourceLocation? = nil
    ) {
        self.branch = branch
        self.domains = domains
        self.settings = settings
        self.location = location
    }
}

/// A pattern in `previews:`: every branch it matches becomes a preview environment.
public struct PreviewRule: Sendable, Hashable {
    /// Glob over branch names: `*` matches within one `/` segment, `**` across segments.
    public var pattern: String {
        didSet { glob = Glob(pattern) }
    }
    /// `pattern`, compiled once (a route plan matches every preview branch against it).
    public private(set) var glob: Glob
    /// Domain template with `{branch}` (DNS-label form), `{site}` and `{commit}` (short hash).
    public var domain: String
    public var settings: EnvironmentSettings
    public var location: SourceLocation?

    public init(
        pattern: String, domain: String, settings: EnvironmentSettings = .init(noindex: true),
        location: SourceLocation? = nil
    ) {
        self.pattern = pattern
        self.glob = Glob(pattern)
        self.domain = domain
        self.settings = settings
        self.location = location
    }
}

/// `pullRequests:` — previews for `refs/pull/<n>/head` and `refs/merge-requests/<n>/head`.
public struct PullRequestRule: Sendable, Hashable {
    /// Domain template with `{number}`, `{site}` (and `{branch}` = `pr-<n>`).
    public var domain: String
    public var settings: EnvironmentSettings

    public init(domain: String, settings: EnvironmentSettings = .init(noindex: true)) {
        self.domain = domain
        self.settings = settings
    }
}

/// What a Sites file says about one branch (explicit or by pattern): its resolved hostnames and settings.
public struct BranchEnvironmentConfig: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case branch
        case preview
        case pullRequest
    }

    public var site: String
    public var branch: String
    public var kind: Kind
    public var domains: [String]
    public var settings: EnvironmentSettings

    public init(site: String, branch: String, kind: Kind, domains: [String], settings: EnvironmentSettings) {
        self.site = site
        self.branch = branch
        self.kind = kind
        self.domains = domains
        self.settings = settings
    }
}
