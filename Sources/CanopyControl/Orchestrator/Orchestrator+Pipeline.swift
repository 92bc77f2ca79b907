import CanopyBuild
import CanopyGit
import CanopySpec
import CanopyStore
import Foundation
import Logging

/// One build's pipeline in named steps: check out, load the plan, run the build, carry and check
/// the rule files, ingest, run the rules tests.
extension Orchestrator {
    func runPipeline(
        _ job: BuildJob, site: SiteConfig, envConfig: BranchEnvironmentConfig, buildDir: String, source: String,
        identity: BuildUser?, log: BuildLogWriter, _ logger: Logger
    ) async throws -> BuildOutcome {
        let artifacts = buildDir + "/artifacts"
        let checkedOut = try await checkOut(
            job, site: site, buildDir: buildDir, source: source, identity: identity, log: log)
        var timings = checkedOut.timings

        // The build plan: the repository's amplify.yml, or its root as is.
        let plan: BuildPlan
        switch try await loadPlan(source: source, appRoot: site.appRoot) {
        case .success(let loaded):
            plan = loaded
        case .failure(let error as BuildFailure):
            return .failed("\(error)")
        case .failure(let error):
            return .failed(
                "\((error as? SpecError)?.diagnostics.first?.location.file ?? "amplify.yml") is invalid:\n\(error)")
        }
        for warning in plan.warnings { await log.append(warning.logLine) }
        if plan.specFile == nil { await log.append("No amplify.yml: deploying the repository root as it is.") }

        var request = buildRequest(
            job, site: site, envConfig: envConfig, plan: plan, buildDir: buildDir, source: source,
            identity: identity, log: log)
        request.keptArtifactDirectory = checkedOut.keptArtifacts
        let result = await runner.run(request, logger: logger, onLog: log.onLog)
        timings.add(result)
        switch result.status {
        case .succeeded: break
        case .failed(let failure): return .failed("\(failure)")
        case .timedOut: return .timedOut("the build ran longer than \(site.buildTimeoutSeconds) s and was stopped")
        case .cancelled: return .cancelled
        }
        if Task.isCancelled { return .cancelled }

        if let problem = try await carryRuleFiles(source: source, plan: plan, artifacts: artifacts, log: log) {
            return .failed(problem)
        }
        let rulesTests = try await loadRulesTests(source: source, appRoot: plan.appRoot, log: log)
        let manifest = try await ingest(
            job, site: site, artifacts: artifacts, cache: checkedOut.ingestCache, log: log, timings: &timings)
        // canopy-rules-test.yml runs against the new deployment before it can go live.
        if let rulesTests,
            let failure = try await runRulesTests(
                rulesTests, manifest: manifest, host: envConfig.domains.first ?? "localhost", log: log)
        {
            return .failed(failure)
        }
        return .succeeded(manifest, timings)
    }

    /// What the checkout step leaves the rest of the pipeline: its time, and the branch's last
    /// artifact folder with what its ingest learned, when this build runs as the server's own user
    /// (its artifacts are links into the reused tree) and they were kept.
    struct CheckedOut {
        var timings: BuildTimings
        var keptArtifacts: String?
        var ingestCache: IngestCache?
    }

    /// Makes the build's folders and checks the commit out into `source`; the first lines of the log.
    private func checkOut(
        _ job: BuildJob, site: SiteConfig, buildDir: String, source: String, identity: BuildUser?,
        log: BuildLogWriter
    ) async throws -> CheckedOut {
        let repository = repositoryPath(for: site)
        try await blocking.run {
            try FileManager.default.createDirectory(atPath: buildDir, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
            // Passable (not writable) for this build's uid alone on the way to its checkout: no other
            // build may read or write it.
            if let identity {
                let workspace = (source as NSString).deletingLastPathComponent
                chown(workspace, 0, identity.gid)
                chmod(workspace, 0o710)
            }
        }
        await log.append("Canopy build \(job.id): site \(site.name), branch \(job.key.branch), commit \(job.commit)")
        await log.append("Checking out \(job.commit.prefix(7)) from \(site.repository)")
        var timings = BuildTimings()
        let checkoutStart = ContinuousClock.now
        let warm = warmTrees.take(job.key)
        let (checkout, git, keptArtifacts) = try await blocking.run { [warmTrees] in
            let repo = try GitRepository.open(repository)
            let store = Self.gitStore(source: source)
            // What was kept moves in first: the build's clean-up covers it from here on.
            let keptAdded = warm?.store.flatMap { rename($0.path, store) == 0 ? $0.added : nil }
            if let kept = warm?.store, keptAdded == nil { warmTrees.discard([kept.path]) }
            let keptArtifacts = warm?.artifacts.flatMap { kept in
                identity == nil && rename(kept, Self.keptArtifacts(buildDir)) == 0 ? Self.keptArtifacts(buildDir) : nil
            }
            if let kept = warm?.artifacts, keptArtifacts == nil { warmTrees.discard([kept]) }
            let outcome = try WorkTreeCheckout(
                repository: repo, commit: job.commit, directory: source, trash: warmTrees.trash
            ).run(reusing: warm)
            let git = Result {
                try BuildGitDirectory(repository: repo, store: store, checkout: source).make(
                    commit: job.commit, branch: job.key.branch, remoteURL: site.repositoryLocation,
                    storeAdded: keptAdded, stats: outcome.stats)
            }
            warmTrees.checkedOut(
                build: job.id, commit: job.commit, files: outcome.files, storeAdded: try? git.get().storeAdded)
            return (outcome, git.map(\.summary).mapError { CanopyError("\($0)") }, keptArtifacts)
        }
        timings.add("checkout", ContinuousClock.now - checkoutStart)
        await log.append(checkout.summary)
        switch git {
        case .success(let summary): await log.append(summary)
        case .failure(let problem): await log.append("Warning: the checkout has no .git: \(problem)")
        }
        // A tree the checkout did not reuse has new files: the kept links name others.
        let reused = checkout.reused != nil
        return CheckedOut(
            timings: timings, keptArtifacts: keptArtifacts, ingestCache: reused ? warm?.ingestCache : nil)
    }

    /// Where the branch's last artifact folder waits for the collection of a build's artifacts.
    static func keptArtifacts(_ buildDir: String) -> String {
        buildDir + "/kept-artifacts"
    }

    /// Where a build's git object store lives: beside its checkout, in the build's workspace.
    static func gitStore(source: String) -> String {
        (source as NSString).deletingLastPathComponent + "/git"
    }

    private func loadPlan(source: String, appRoot: String?) async throws -> Result<BuildPlan, Error> {
        // Where Amplify looks: the repository root, then the app's folder (`frontend/amplify.yml`).
        try await blocking.run { BuildSpecLocator.load(checkout: source, appRoot: appRoot) }
    }

    /// What the runner gets: the plan, the site's and branch's environment and secrets, the caches,
    /// the log, the limits and the build's uid.
    private func buildRequest(
        _ job: BuildJob, site: SiteConfig, envConfig: BranchEnvironmentConfig, plan: BuildPlan, buildDir: String,
        source: String, identity: BuildUser?, log: BuildLogWriter
    ) -> BuildRequest {
        var environment = site.env
        environment.merge(envConfig.settings.env) { _, branch in branch }
        var request = BuildRequest(
            buildID: job.id, site: site.name, branch: job.key.branch, commit: job.commit,
            sourceDirectory: source, plan: plan, environment: environment,
            secrets: Self.secrets(site: site, envConfig: envConfig),
            cloneURL: site.repositoryLocation, timeout: .seconds(site.buildTimeoutSeconds),
            cacheDirectory: cacheDirectory(site: site.name, branch: job.key.branch),
            seedCacheDirectory: job.key.branch == site.productionBranch
                ? nil : cacheDirectory(site: site.name, branch: site.productionBranch),
            logFile: log.path, artifactDirectory: buildDir + "/artifacts",
            testArtifactDirectory: plan.testArtifacts == nil ? nil : buildDir + "/test-artifacts",
            maxLogBytes: 50 << 20, cpuSeconds: site.buildTimeoutSeconds, runAs: identity)
        request.limits = config.buildLimits
        request.cgroups = buildIdentities?.cgroups
        request.hostnames = envConfig.domains
        request.skipBackend = site.skipBackend
        return request
    }

    /// Amplify's rule files live in the repository, not in the artifacts: they travel with the
    /// deployment (the edge reads them from there and never serves them as files). They are parsed
    /// here: an invalid one fails the build, with its line (the returned problem).
    private func carryRuleFiles(
        source: String, plan: BuildPlan, artifacts: String, log: BuildLogWriter
    ) async throws -> String? {
        let carried = try await blocking.run {
            try RuleFiles.carry(from: source, appRoot: plan.appRoot, customHeaders: plan.customHeaders, into: artifacts)
        }
        for warning in carried { await log.append(warning.logLine) }
        let capabilities = edge.ruleCapabilities
        let ruleFindings = try await blocking.run {
            RuleFiles.validate(artifactDirectory: artifacts, capabilities: capabilities)
        }
        for warning in ruleFindings.warnings { await log.append(warning) }
        return ruleFindings.problem
    }

    /// Ingests the artifacts into the deployment store as a new deployment, with what the ingest of
    /// the branch's last build learned (`cache`); notes what this one learned for the next. The
    /// artifacts stay for the build's clean-up (which keeps them with the work tree, or removes them).
    private func ingest(
        _ job: BuildJob, site: SiteConfig, artifacts: String, cache: IngestCache?, log: BuildLogWriter,
        timings: inout BuildTimings
    ) async throws -> DeploymentManifest {
        await log.append("Ingesting artifacts into the deployment store")
        let deploymentID = DeploymentStore.newDeploymentID(date: Date())
        let ingestStart = ContinuousClock.now
        let (manifest, learned) = try await blocking.run { [store] in
            var learned = cache ?? IngestCache()
            let manifest = try store.ingest(
                directory: artifacts, id: deploymentID, site: site.name, branch: job.key.branch,
                commit: job.commit, commitTime: job.commitTime, cache: &learned)
            return (manifest, learned)
        }
        timings.add("ingest", ContinuousClock.now - ingestStart)
        warmTrees.ingested(build: job.id, cache: learned)
        let known = learned.hits > 0 ? " (\(learned.reads) read, \(learned.hits) known from the last build)" : ""
        await log.append(
            "Deployment \(manifest.id): \(manifest.files.count) files, \(manifest.totalSize) bytes\(known)")
        return manifest
    }
}
