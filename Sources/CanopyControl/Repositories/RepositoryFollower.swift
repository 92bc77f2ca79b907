import CanopyGit
import CanopySpec
import Foundation
import Logging
import ServiceLifecycle

/// Follows every site's repository and the Sites folder. Each scan reads all branch heads with
/// libgit2 (remote repositories are mirrored first, with a cheap ls-remote deciding whether to
/// fetch) and hands the snapshot to the orchestrator, which reconciles it against the durable state:
/// new branches, moved branches and deleted branches, including those that changed while the server
/// was down. Scans happen on a poke (the post-receive hook, a webhook, a local repository's refs
/// changing under inotify) at once, and on a timer as the safety net.
public actor RepositoryFollower: Service {
    let orchestrator: Orchestrator
    let data: DataFolder
    let blocking: BlockingExecutor
    let pollInterval: Duration
    let sitesPollInterval: Duration
    let logger: Logger

    /// Sites to scan at the next wake-up (nil: all).
    private var requested: Set<String>? = []
    private var wakeUp: CheckedContinuation<Void, Never>?
    /// Refs already reported as not UTF-8 (repository and name), so that each is logged once.
    private var warnedRefNames: Set<String> = []
    /// Last ls-remote answer per remote site, to skip fetches when nothing changed.
    private var remoteHeads: [String: [String: String]] = [:]

    init(
        orchestrator: Orchestrator, data: DataFolder, blocking: BlockingExecutor, pollInterval: Duration,
        sitesPollInterval: Duration, logger: Logger
    ) {
        self.orchestrator = orchestrator
        self.data = data
        self.blocking = blocking
        self.pollInterval = pollInterval
        self.sitesPollInterval = sitesPollInterval
        self.logger = logger
    }

    /// Asks for an immediate scan of the sites whose repository is at `repository` (all when nil or
    /// when none matches). Returns how many sites will be scanned.
    public func poke(repository: String?) async -> Int {
        let sites = await orchestrator.sites
        var matching: [String] = []
        if let repository {
            let wanted = Self.normalise(repository)
            matching = sites.values.filter { Self.normalise($0.repositoryLocation) == wanted }.map(\.name)
        }
        if matching.isEmpty {
            requested = nil
        } else if requested != nil {
            requested!.formUnion(matching)
        }
        wake()
        return matching.isEmpty ? sites.count : matching.count
    }

    /// Asks for an immediate scan of one site.
    public func poke(site: String) {
        if requested != nil { requested!.insert(site) }
        wake()
    }

    static func normalise(_ location: String) -> String {
        var path = location
        if path.hasPrefix("file://") { path = String(path.dropFirst(7)) }
        path = (path as NSString).standardizingPath
        return path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    /// Runs until graceful shutdown or cancellation. Local repositories are watched with inotify
    /// (``RefWatcher``): a push to one scans its sites at once, hook or no hook.
    /// Graceful shutdown ends the loop between scans: a scan under way finishes (the group's
    /// deadline cancels it), a wait ends at once.
    public func run() async throws {
        let logger = self.logger
        let watcher: RefWatcher?
        do {
            watcher = try RefWatcher { logger.debug("\($0)") }
        } catch {
            logger.warning("\(error): local repositories are polled every \(pollInterval)")
            watcher = nil
        }
        await withTaskGroup(of: Void.self) { group in
            if let watcher {
                group.addTask {
                    for await repository in watcher.events { _ = await self.poke(repository: repository) }
                }
            }
            await followRepositories(watcher)
            watcher?.stop()
            group.cancelAll()
        }
    }

    /// The local repositories of the sites now configured, for the watcher.
    private func watchLocalRepositories(_ watcher: RefWatcher?) async {
        guard let watcher else { return }
        let sites = await orchestrator.sites
        watcher.watch(
            Set(sites.values.map(\.repositoryLocation).filter { !RepositoryLocation.isRemote($0) }))
    }

    private func followRepositories(_ watcher: RefWatcher?) async {
        var lastFullScan = ContinuousClock.now - pollInterval
        await watchLocalRepositories(watcher)
        await scan(sites: nil)
        lastFullScan = .now
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await sleep(upTo: sitesPollInterval)
            if Task.isCancelled || Task.isShuttingDownGracefully { break }
            let changed = await orchestrator.reloadSites()
            if changed { await watchLocalRepositories(watcher) }
            let due = ContinuousClock.now - lastFullScan >= pollInterval
            let wanted = requested
            requested = []
            if changed || due || wanted == nil {
                await scan(sites: nil)
                lastFullScan = .now
            } else if let wanted, !wanted.isEmpty {
                await scan(sites: wanted)
            }
        }
    }

    /// Waits for a poke or `interval`, whichever comes first, or until graceful shutdown or
    /// cancellation. The timer is a child task: a poke cancels it and the wait ends only once it has
    /// ended, so no timer outlives the wait; cancelling the follower cancels the timer, which ends
    /// the wait at once.
    private func sleep(upTo interval: Duration) async {
        if requested == nil || requested?.isEmpty == false { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                _ = await pauseUnlessShuttingDown(for: interval)
                await self.wake()
            }
            // No suspension between adding the timer and storing the continuation: the timer's
            // `wake()` needs this actor, so it cannot run before `wakeUp` is set.
            await withCheckedContinuation { wakeUp = $0 }
            group.cancelAll()
        }
    }

    /// True while the loop waits for a poke or its timer (tests wait for this before shutting down).
    var isWaiting: Bool { wakeUp != nil }

    private func wake() {
        wakeUp?.resume()
        wakeUp = nil
    }

    // MARK: Scanning

    private func scan(sites names: Set<String>?) async {
        let sites = await orchestrator.sites
        for site in sites.values.sorted(by: { $0.name < $1.name }) where names?.contains(site.name) ?? true {
            do {
                guard let heads = try await heads(of: site) else { continue }
                await orchestrator.repositoryScanned(site: site.name, refs: heads)
            } catch {
                logger.error("cannot read the repository: \(error)", metadata: ["site": "\(site.name)"])
            }
        }
    }

    /// The branch heads of a site's repository, or nil when a remote did not change since last time.
    private func heads(of site: SiteConfig) async throws -> [BranchHead]? {
        let withPullRequests = site.pullRequests != nil
        if RepositoryLocation.isRemote(site.repositoryLocation) {
            let mirror = data.mirrors + "/" + site.name + ".git"
            let url = site.repositoryLocation
            let credentials = Self.gitCredentials(site.credentials)
            let known = remoteHeads[site.name]
            let (changed, advertised): (Bool, [String: String]) = try await blocking.run {
                let refs = try GitRepository.lsRemote(url: url, credentials: credentials)
                let map = Dictionary(refs.map { ($0.fullName, $0.commit) }, uniquingKeysWith: { a, _ in a })
                return (map != known || !FileManager.default.fileExists(atPath: mirror), map)
            }
            if !changed { return nil }
            try await blocking.run {
                let repo =
                    FileManager.default.fileExists(atPath: mirror)
                    ? try GitRepository.open(mirror) : try GitRepository.initBare(at: mirror)
                var refspecs = ["+refs/heads/*:refs/heads/*"]
                if withPullRequests {
                    refspecs += [
                        "+refs/pull/*/head:refs/pull/*/head", "+refs/merge-requests/*/head:refs/merge-requests/*/head",
                    ]
                }
                _ = try repo.fetch(remote: url, refspecs: refspecs, credentials: credentials)
            }
            remoteHeads[site.name] = advertised
            logger.debug("fetched \(url) into its mirror", metadata: ["site": "\(site.name)"])
            return try await localHeads(path: mirror, pullRequests: withPullRequests)
        }
        return try await localHeads(path: site.repositoryLocation, pullRequests: withPullRequests)
    }

    private func localHeads(path: String, pullRequests: Bool) async throws -> [BranchHead] {
        let (heads, skipped) = try await blocking.run {
            let repo = try GitRepository.open(path)
            return try Self.readHeads(repo, pullRequests: pullRequests)
        }
        // Once per name: a branch whose name is not UTF-8 cannot become an environment.
        for name in skipped where warnedRefNames.insert(path + " " + name).inserted {
            logger.warning("\(path): the ref \(name) is not followed: its name is not UTF-8 (rename the branch)")
        }
        return heads
    }

    /// The branch heads (and pull-request heads), and the refs skipped because their names are not UTF-8.
    private static func readHeads(_ repo: GitRepository, pullRequests: Bool) throws -> ([BranchHead], [String]) {
        do {
            var heads: [BranchHead] = []
            for ref in try repo.branches() {
                let commit = try repo.commit(ref.commit)
                heads.append(
                    BranchHead(branch: ref.name, commit: ref.commit, message: commit.message, time: commit.time))
            }
            var skipped = repo.skippedRefNames
            if pullRequests {
                for ref in try repo.refs(matching: ["refs/pull/*/head", "refs/merge-requests/*/head"]) {
                    let parts = ref.fullName.split(separator: "/")
                    guard parts.count >= 4, let number = Int(parts[2]) else { continue }
                    let commit = try repo.commit(ref.commit)
                    heads.append(
                        BranchHead(
                            branch: "pr-\(number)", commit: ref.commit, message: commit.message, time: commit.time,
                            pullRequest: number))
                }
                skipped += repo.skippedRefNames
            }
            return (heads, skipped)
        }
    }

    static func gitCredentials(_ credentials: RepositoryCredentials?) -> GitCredentials? {
        guard let credentials else { return nil }
        func resolve(_ value: String?) -> String? {
            guard let value, value.hasPrefix("$") else { return value }
            return ProcessInfo.processInfo.environment[String(value.dropFirst())]
        }
        return GitCredentials(
            username: resolve(credentials.username), password: resolve(credentials.password),
            sshKeyPath: credentials.sshKey.map { ($0 as NSString).expandingTildeInPath })
    }
}
