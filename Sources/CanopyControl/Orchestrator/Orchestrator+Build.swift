import CanopyBuild
import CanopyGit
import CanopySpec
import CanopyStore
import Foundation
import Logging

extension Orchestrator {
    // MARK: Running one build

    /// Checks out, builds, tests, ingests and (if still the newest commit) activates one job.
    func execute(_ job: BuildJob) async {
        var logger = self.logger
        logger[metadataKey: "site"] = "\(job.key.site)"
        logger[metadataKey: "branch"] = "\(job.key.branch)"
        logger[metadataKey: "commit"] = "\(job.commit.prefix(7))"
        logger[metadataKey: "build"] = "\(job.id)"
        defer { buildEnded(job) }

        guard let site = catalog.sites[job.key.site],
            let envConfig = SitesSpec.environment(for: job.key.branch, commit: job.commit, in: site)
                ?? job.pullRequestNumber.flatMap({ SitesSpec.pullRequestEnvironment(number: $0, in: site) })
        else {
            await finish(job, status: .cancelled, error: "The branch is no longer connected in the Sites file.", logger)
            return
        }
        try? await state.updateBuild(job.id, status: .running)
        if let record = try? await state.build(id: job.id) { emit(.buildStarted(record)) }
        logger.info("build started")

        // A uid of its own for this build (see BuildIdentities), given back when it has ended.
        let identity = buildIdentities?.acquire()
        if buildIdentities != nil && identity == nil {
            await finish(job, status: .failed, error: "every uid of --build-uids is in use by a running build", logger)
            return
        }
        let buildDir = data.buildDirectory(job.id)
        // The checkout lives with the build's records, or, for builds that run as another user,
        // in a folder of its own outside the data folder (which that user must not enter).
        let workspace =
            identity == nil
            ? buildDir : config.buildWorkRoot + "/" + job.id + "-" + UUID().uuidString.prefix(8).lowercased()
        guard let opened = await openLog(job, site: site, envConfig: envConfig, logger) else { return }
        let log = opened.writer
        // One task forwards the log's lines to observers, in the order they were written.
        let forwarding = Task {
            for await line in opened.lines { self.emit(.buildLog(buildID: job.id, line: line)) }
        }
        var outcome: BuildOutcome
        do {
            outcome = try await runPipeline(
                job, site: site, envConfig: envConfig, buildDir: buildDir, source: workspace + "/src",
                identity: identity, log: log, logger)
        } catch is CancellationError {
            outcome = .cancelled
        } catch {
            outcome = Task.isCancelled ? .cancelled : .failed("\(error)")
        }
        outcome = outcome.notingFullDisk(paths: [data.root, workspace])
        if let identity, let identities = buildIdentities {
            // Even for a cancelled build (a task of its own): its processes end, its uid goes back.
            let ended = await Task { (try? await self.blocking.run { identities.release(identity) }) ?? 0 }.value
            if ended > 0 { await log.append("Stopped \(ended) processes the build left running") }
        }
        // A superseded build's task is cancelled, and GRDB refuses writes from a cancelled task:
        // the outcome is recorded from a task of its own so that it is never lost.
        await Task {
            await self.cleanUp(after: outcome, job: job, workspace: workspace, buildDir: buildDir)
            await self.record(outcome, job: job, envConfig: envConfig, site: site, log: log, logger)
        }.value
        Task.detached { [blocking, warmTrees] in try? await blocking.run { warmTrees.emptyTrash() } }
        log.close()
        await forwarding.value
    }

    /// Opens the build's log, or records why the build ends here (nil).
    private func openLog(
        _ job: BuildJob, site: SiteConfig, envConfig: BranchEnvironmentConfig, _ logger: Logger
    ) async -> (writer: BuildLogWriter, lines: AsyncStream<String>)? {
        do {
            return try await BuildLogWriter.open(
                path: data.buildLog(job.id), secrets: Self.secrets(site: site, envConfig: envConfig), blocking: blocking
            )
        } catch {
            // A build superseded before it began has nothing to say but that.
            if error is CancellationError || Task.isCancelled {
                await finish(job, status: queue.isSuperseded(job) ? .superseded : .cancelled, error: nil, logger)
            } else {
                await finish(job, status: .failed, error: "cannot open the build log: \(error)", logger)
            }
            return nil
        }
    }

    /// What a build leaves: its checkout (with its object store, and the artifacts of a deployed
    /// build that ran as the server's own user) waits for the branch's next build (`WarmTrees`)
    /// unless the build was stopped; a checkout outside the data folder, and artifacts not kept, go. This comes before the result is recorded: on a full disk it is the room the
    /// record needs.
    private func cleanUp(after outcome: BuildOutcome, job: BuildJob, workspace: String, buildDir: String) async {
        let deployed: Bool
        let reusable: Bool
        switch outcome {
        case .succeeded: (deployed, reusable) = (true, true)
        case .failed: (deployed, reusable) = (false, true)
        case .timedOut, .cancelled: (deployed, reusable) = (false, false)
        }
        // A deployed build's artifacts, links into its checkout, wait with it for the next build.
        let artifacts = buildDir + "/artifacts"
        let linked = workspace == buildDir
        try? await blocking.run { [warmTrees] in
            let unused = warmTrees.keep(
                build: job.id, key: job.key, source: workspace + "/src",
                store: Self.gitStore(source: workspace + "/src"),
                artifacts: deployed && linked ? artifacts : nil, reusable: reusable)
            warmTrees.discard(unused + [Self.keptArtifacts(buildDir)])
            if workspace != buildDir { try? FileManager.default.removeItem(atPath: workspace) }
            try? FileManager.default.removeItem(atPath: artifacts)
        }
    }

    private func record(
        _ outcome: BuildOutcome, job: BuildJob, envConfig: BranchEnvironmentConfig, site: SiteConfig,
        log: BuildLogWriter,
        _ logger: Logger
    ) async {
        switch outcome {
        case .failed(let message):
            await log.append("Build failed: \(message)")
            await finish(job, status: .failed, error: message, logger)
        case .timedOut(let message):
            await log.append("Build timed out: \(message)")
            await finish(job, status: .timedOut, error: message, logger)
        case .cancelled:
            let superseded = queue.isSuperseded(job)
            await log.append(superseded ? "Build superseded by a newer commit." : "Build cancelled.")
            await finish(job, status: superseded ? .superseded : .cancelled, error: nil, logger)
        case .succeeded(let manifest, let timings):
            await deploy(
                job, manifest: manifest, site: site, settings: envConfig.settings, timings: timings, log: log, logger)
        }
    }

    enum BuildOutcome {
        case succeeded(DeploymentManifest, BuildTimings)
        case failed(String)
        case timedOut(String)
        case cancelled

        /// A failure on a full disk says so (the log may have lost its last lines to it).
        func notingFullDisk(paths: [String]) -> BuildOutcome {
            guard case .failed(let message) = self, let note = DiskSpace.fullDiskNote(paths: paths, message: message)
            else { return self }
            return .failed(message + "\n" + note)
        }
    }

    /// Records the deployment and, if this build is still the newest of its branch, activates it.
    private func deploy(
        _ job: BuildJob, manifest: DeploymentManifest, site: SiteConfig, settings: EnvironmentSettings,
        timings: BuildTimings, log: BuildLogWriter, _ logger: Logger
    ) async {
        var timings = timings
        let activationStart = ContinuousClock.now
        // Garbage collection keeps the ingested deployment until it is recorded (or given up).
        defer { store.releaseIngest(manifest.id) }
        let record = DeploymentRecord(
            id: manifest.id, site: site.name, branch: job.key.branch, commit: job.commit,
            commitMessage: job.commitMessage, commitTime: job.commitTime, createdAt: manifest.createdAt,
            buildID: job.id, fileCount: manifest.files.count, totalBytes: manifest.totalSize)
        let current = queue.isCurrent(job)
        do {
            let pinned = try await state.environment(site: site.name, branch: job.key.branch)?.pinned ?? false
            if current && !pinned && RolloutSchedule.needsRollout(settings) {
                try await state.recordDeployment(record, activate: false, reason: "build \(job.id)")
                await log.append(
                    "Deployment \(manifest.id) starts a rollout (\(settings.rollout); health: \(settings.health.isEmpty ? "none" : settings.health.joined(separator: ", ")))."
                )
                try await beginRollout(
                    site: site.name, branch: job.key.branch, deployment: manifest.id, settings: settings)
                await finish(job, status: .succeeded, deploymentID: manifest.id, error: nil, logger)
                return
            }
            let activated = try await state.recordDeployment(record, activate: current, reason: "build \(job.id)")
            if activated {
                _ = try await servedDeployment(manifest.id, manifest: manifest)
                try await publishRoutes(changed: [site.name])
                timings.add("activate", ContinuousClock.now - activationStart)
                await log.append("Deployment \(manifest.id) is live.")
                await log.append(timings.line)
                logger.info("deployment \(manifest.id) activated", metadata: ["deployment": "\(manifest.id)"])
                emit(.deploymentActivated(site: site.name, branch: job.key.branch, deployment: manifest.id))
            } else if !current {
                await log.append("A newer commit arrived: deployment \(manifest.id) is kept but not activated.")
            } else {
                await log.append("The branch is pinned: deployment \(manifest.id) is kept but not activated.")
            }
            await finish(job, status: current ? .succeeded : .superseded, deploymentID: manifest.id, error: nil, logger)
            // Retention after the build's result is recorded: it may take a while on big stores.
            if activated {
                do {
                    try await applyRetention()
                } catch {
                    logger.error("retention failed: \(error)")
                }
            }
        } catch {
            logger.error("cannot record deployment \(manifest.id): \(error)")
            await finish(job, status: .failed, error: "cannot record the deployment: \(error)", logger)
        }
    }

    func finish(
        _ job: BuildJob, status: BuildStatus, deploymentID: String? = nil, error: String?, _ logger: Logger
    ) async {
        // From a task of its own: GRDB refuses writes from a cancelled task, and a superseded
        // build's task is cancelled at any point, even before it has begun. Its result is never lost.
        let write = Task { [state] in
            try await state.updateBuild(job.id, status: status, deploymentID: deploymentID, error: error)
        }
        do {
            try await write.value
        } catch {
            logger.error("cannot record the build's result (\(status.rawValue)): \(error)")
        }
        switch status {
        case .succeeded: logger.info("build succeeded")
        case .superseded, .cancelled: logger.info("build \(status.rawValue)")
        default: logger.error("build \(status.rawValue): \(error ?? "")")
        }
        if let record = try? await Task(operation: { [state] in try await state.build(id: job.id) }).value {
            emit(.buildFinished(record))
        }
    }

    /// What a build's log must never show: passwords, tokens and repository credentials.
    static func secrets(site: SiteConfig, envConfig: BranchEnvironmentConfig) -> Set<String> {
        var secrets = Set<String>()
        if let password = envConfig.settings.password?.password { secrets.insert(password) }
        if let token = site.webhookToken { secrets.insert(token) }
        if let password = site.credentials?.password { secrets.insert(password) }
        return secrets
    }

    /// The repository a site's builds check out from: the repository itself when local, else its mirror.
    func repositoryPath(for site: SiteConfig) -> String {
        RepositoryLocation.isRemote(site.repositoryLocation)
            ? data.mirrors + "/" + site.name + ".git" : site.repositoryLocation
    }

    /// A branch's build cache, named by its exact name: `Main` and `main` share a DNS label but
    /// never a cache.
    func cacheDirectory(site: String, branch: String) -> String {
        // Keyed by the exact branch name: `Main` and `main` never share a cache (#15).
        data.caches + "/" + site + "/" + CacheFolder.name(branch: branch)
    }
}

/// Whether a repository location is a URL to fetch rather than a folder on this machine.
enum RepositoryLocation {
    static func isRemote(_ location: String) -> Bool {
        location.hasPrefix("https://") || location.hasPrefix("http://") || location.hasPrefix("ssh://")
            || location.hasPrefix("git@") || location.hasPrefix("file://")
    }
}
