import CanopyAdminAPI
import CanopyBuild
import CanopyEdge
import CanopyGit
import CanopySpec
import CanopyStore
import Foundation
import Logging

/// The heart of the control plane. Branch events come in; builds are queued (at most one per branch,
/// newer commits supersede older ones, a bounded number at once, fair across sites), run, ingested,
/// recorded and activated; and after every change a new RoutingTable goes to the edge.
///
/// Data flows one way: watcher → orchestrator → builder → store → state → routing table → edge.
public actor Orchestrator {
    let config: CanopyConfiguration
    /// The uids builds run as, one per running build (nil: the server's own user).
    let buildIdentities: BuildIdentities?
    let data: DataFolder
    let state: any StateStore
    let store: DeploymentStore
    let edge: any EdgeRouting
    let blocking: BlockingExecutor
    let runner: BuildRunner
    let notifier: Notifier
    let logger: Logger
    /// The edge's certificates, kept in agreement with the served hostnames' `tls:`.
    let certificates: CertificateController

    var catalog = SiteCatalog()
    /// Route plans, loaded deployments and the tables the edge gets.
    let routes: RoutePublisher
    /// Rollout steps and operator actions on rollouts.
    let rolloutController: RolloutController
    /// Splits, swaps, rollbacks and pins.
    let traffic: TrafficController
    /// Which builds wait, run and come next (see `BuildQueue`).
    var queue: BuildQueue
    /// Branches' work trees between builds, for checkouts that write only what changed.
    let warmTrees: WarmTrees
    /// The task of each running build, by build id.
    var buildTasks: [String: Task<Void, Never>] = [:]
    /// Observers of build and deployment events (the admin API's event stream).
    var listeners: [UUID: AsyncStream<ControlEvent>.Continuation] = [:]
    /// Edge counters of each rolling-out deployment when its rollout began (error rates count from there).
    var rolloutBaselines: [EnvironmentKey: DeploymentTrafficStats] = [:]
    /// What every hostname serves, as last published, by hostname.
    var hostnameStatus: [String: HostnameStatus] = [:]
    /// The same, sorted by hostname.
    var hostnames: [HostnameStatus] { hostnameStatus.keys.sorted().map { hostnameStatus[$0]! } }
    /// When a build last could not be recorded (a full disk): the error is logged once a minute.
    var buildRecordFailedAt: ContinuousClock.Instant?

    init(
        config: CanopyConfiguration, buildIdentities: BuildIdentities? = nil, data: DataFolder, state: any StateStore,
        store: DeploymentStore, edge: any EdgeRouting, blocking: BlockingExecutor, logger: Logger
    ) {
        self.config = config
        self.buildIdentities = buildIdentities
        self.data = data
        self.state = state
        self.store = store
        self.edge = edge
        self.blocking = blocking
        self.queue = BuildQueue(concurrency: config.buildConcurrency)
        self.routes = RoutePublisher(state: state, store: store, edge: edge, blocking: blocking, logger: logger)
        self.rolloutController = RolloutController(state: state)
        self.traffic = TrafficController(state: state)
        self.runner = BuildRunner()
        // Beside the checkouts (a tree moves in and out with one rename), where only root may enter.
        self.warmTrees = WarmTrees(
            root: buildIdentities == nil ? data.root + "/worktrees" : config.buildWorkRoot + "/.worktrees")
        self.notifier = Notifier(logger: logger)
        self.logger = logger
        self.certificates = CertificateController(
            edge: edge, data: data, blocking: blocking, logger: logger, acmeByDefault: config.acme != nil)
    }

    // MARK: Start

    /// Restores what was served before a restart (without rebuilding) and reads the Sites folder.
    func start() async throws {
        // What a server that died left: processes first (they must not write on), then files (on a
        // full disk that is the room the records below need), then the records.
        let abandoned = try await state.unfinishedBuilds()
        let ids = abandoned.filter { $0.status == .running }.map(\.id)
        let leftovers = abandoned.flatMap { build in
            ["src", "git", "artifacts", "kept-artifacts"].map { data.buildDirectory(build.id) + "/" + $0 }
        }
        let stopped = try await blocking.run { [runner, buildIdentities, warmTrees] in
            warmTrees.clear()
            // Every process of a build uid is a leftover now, whatever it did to its environment.
            let stopped = ids.reduce(buildIdentities?.endLeftovers() ?? 0) {
                $0 + BuildRunner.stopLeftovers(buildID: $1)
            }
            for path in leftovers { try? FileManager.default.removeItem(atPath: path) }
            for id in ids { runner.removeLeftoverScratch(buildID: id) }
            return stopped
        }
        if stopped > 0 { logger.notice("stopped \(stopped) processes left by interrupted builds") }
        do {
            _ = try await state.abandonUnfinishedBuilds()
        } catch {
            // A full disk must not keep the server from serving what it served.
            logger.error("cannot record the builds a restart interrupted (\(error)); serving what was served")
        }
        for build in abandoned {
            let meta: Logger.Metadata = [
                "site": "\(build.site)", "branch": "\(build.branch)", "commit": "\(build.commit.prefix(7))",
            ]
            let attempts =
                build.status == .running
                ? (try? await state.interruptedBuilds(site: build.site, branch: build.branch, commit: build.commit))
                    ?? 0
                : 0
            if attempts >= Self.interruptedAttempts {
                logger.error(
                    "build \(build.id) was interrupted by a restart \(attempts) times: not retried; push again or run `canopy build \(build.site) \(build.branch)`",
                    metadata: meta)
            } else {
                logger.notice(
                    "build \(build.id) was interrupted by a restart; its commit is considered again", metadata: meta)
            }
        }
        if buildIdentities != nil && !abandoned.isEmpty {
            // Their checkouts in the shared build folder, left by a server that stopped mid-build.
            let root = config.buildWorkRoot
            let prefixes = abandoned.map { $0.id + "-" }
            try await blocking.run {
                for name in try FileManager.default.contentsOfDirectory(atPath: root)
                where prefixes.contains(where: { name.hasPrefix($0) }) {
                    try? FileManager.default.removeItem(atPath: root + "/" + name)
                }
            }
        }
        let recorded = data.sitesInForce
        let incumbents = (try? await blocking.run { SiteCatalog.readInForce(recorded) }) ?? []
        catalog = SiteCatalog(incumbents: incumbents, capabilities: edge.ruleCapabilities)
        _ = await reloadCatalog()
        await closeSiteRepositories()
        await recordSitesInForce()
        try await publishRoutes()
    }

    /// With builds run as uids of their own: the sites' local repositories are closed to them.
    func closeSiteRepositories() async {
        guard buildIdentities != nil else { return }
        let paths = catalog.sites.values.filter { !RepositoryLocation.isRemote($0.repositoryLocation) }.map {
            repositoryPath(for: $0)
        }
        try? await blocking.run { [logger] in BuildIsolation.closeRepositories(paths, logger: logger) }
    }

    /// Writes which sites are in force, so that after a restart conflicts are decided as before.
    func recordSitesInForce() async {
        let names = Set(catalog.sites.keys)
        let path = data.sitesInForce
        do {
            try await blocking.run { try SiteCatalog.writeInForce(names, to: path) }
        } catch {
            logger.warning("cannot record the sites in force in \(path): \(error)")
        }
    }

    /// Re-reads the Sites folder; returns the sites whose configuration changed.
    func reloadSites() async -> Bool {
        let before = catalog.sites
        guard await reloadCatalog() else {
            await certificates.refresh()  // certificate files may change without the Sites file
            return false
        }
        logger.info("Sites configuration reloaded: \(catalog.sites.keys.sorted().joined(separator: ", "))")
        await closeSiteRepositories()
        await recordSitesInForce()
        try? await publishRoutes()
        await rebuildBranchesWhoseBuildInputsChanged(before: before)
        return true
    }

    /// Reads the Sites folder on the blocking pool into a copy of the catalog, which then replaces
    /// it; true when the configuration in force changed. One reload runs at a time (at start, then
    /// only from the follower's loop), so no other change to `catalog` happens during the await.
    private func reloadCatalog() async -> Bool {
        let copy = catalog
        let directory = config.sitesDirectory
        let logger = self.logger
        guard
            let (reloaded, changed) = try? await blocking.run({
                var next = copy
                let changed = next.reload(directory: directory, logger: logger)
                return (next, changed)
            })
        else { return false }
        catalog = reloaded
        return changed
    }

    var sites: [String: SiteConfig] { catalog.sites }
    var siteProblems: [String: String] { catalog.problems }

    // MARK: Branch events

    /// The branches of a site's repository as they are now: creates, updates and deletes environments.
    func repositoryScanned(site: String, refs: [BranchHead]) async {
        guard let siteConfig = catalog.sites[site] else { return }
        let known = (try? await state.environments(site: site)) ?? []
        let present = Set(refs.map(\.branch))
        for ref in refs {
            await branchMoved(site: siteConfig, head: ref)
        }
        for env in known where !present.contains(env.branch) {
            await branchDeleted(site: site, branch: env.branch)
        }
    }

    /// A branch points at a (possibly new) commit.
    func branchMoved(site: SiteConfig, head: BranchHead) async {
        guard let envConfig = environmentConfig(site: site, head: head) else { return }
        let key = EnvironmentKey(site: site.name, branch: head.branch)
        let meta: Logger.Metadata = [
            "site": "\(site.name)", "branch": "\(head.branch)", "commit": "\(head.commit.prefix(7))",
        ]
        do {
            let existing = try await state.environment(site: site.name, branch: head.branch)
            if existing == nil || existing?.deletedAt != nil,
                let collision = hostnameCollision(
                    site: site, branch: head.branch, domains: envConfig.domains,
                    known: try await state.environments(site: site.name))
            {
                await refuseCollision(site: site, head: head, with: collision)
                return
            }
            if existing?.headCommit != head.commit || existing?.deletedAt != nil {
                try await state.upsertEnvironment(
                    site: site.name, branch: head.branch, kind: envConfig.kind.rawValue, headCommit: head.commit)
            }
            // Already building, queued, built (passed or failed): nothing to do.
            if queue.contains(key, commit: head.commit) { return }
            // A commit built before (passed or failed) is not built again; one whose build was cut short
            // (a restart, or a newer commit that has since been reverted) is, and one the server's
            // stopping interrupted is retried once.
            if let last = try await state.latestBuild(site: site.name, branch: head.branch, commit: head.commit) {
                switch last.status {
                case .cancelled, .superseded: break
                case .interrupted:
                    let attempts = try await state.interruptedBuilds(
                        site: site.name, branch: head.branch, commit: head.commit)
                    if attempts >= Self.interruptedAttempts { return }
                default: return
                }
            }
            if Self.skipsCI(head.message) {
                logger.info("commit message asks to skip the build", metadata: meta)
                return
            }
            await enqueue(
                BuildJob(
                    id: Self.newBuildID(), key: key, kind: envConfig.kind, commit: head.commit,
                    commitMessage: head.message, commitTime: head.time, queuedAt: Date()))
        } catch {
            logger.error("cannot record branch update: \(error)", metadata: meta)
        }
    }

    /// A branch is gone: its builds stop and its hostnames stop serving at once.
    func branchDeleted(site: String, branch: String) async {
        let key = EnvironmentKey(site: site, branch: branch)
        if let running = queue.removeBranch(key) { buildTasks[running.id]?.cancel() }
        do {
            guard let env = try await state.environment(site: site, branch: branch), env.deletedAt == nil else {
                return
            }
            try await state.markEnvironmentDeleted(site: site, branch: branch)
            logger.info("branch deleted: it no longer serves", metadata: ["site": "\(site)", "branch": "\(branch)"])
            emit(.branchDeleted(site: site, branch: branch))
            try await publishRoutes()
            try await applyRetention()
        } catch {
            logger.error(
                "cannot record branch deletion: \(error)", metadata: ["site": "\(site)", "branch": "\(branch)"])
        }
    }

    func environmentConfig(site: SiteConfig, head: BranchHead) -> BranchEnvironmentConfig? {
        if let number = head.pullRequest {
            return SitesSpec.pullRequestEnvironment(number: number, in: site)
        }
        return SitesSpec.environment(for: head.branch, commit: head.commit, in: site)
    }

    /// Builds of one commit the server's stopping may interrupt before it is no longer retried.
    static let interruptedAttempts = 2

    static func skipsCI(_ message: String) -> Bool {
        let lowered = message.lowercased()
        return ["[skip ci]", "[ci skip]", "[skip-cd]", "[skip cd]"].contains { lowered.contains($0) }
    }

    static func newBuildID() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789")
        let suffix = String((0..<5).map { _ in alphabet.randomElement()! })
        return "b\(formatter.string(from: Date()))-\(suffix)"
    }
}
