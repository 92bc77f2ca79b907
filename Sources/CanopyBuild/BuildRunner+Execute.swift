import CanopySpec
import Foundation

/// `BuildRunner.execute` in named steps: refuse an AWS backend deploy, make the folders, prepare
/// (cache restore, hand-over), run the stages, take the checkout back, collect the test
/// artifacts and the artifacts, save the cache.
extension BuildRunner {
    /// Where a build's commands run.
    struct Folders {
        /// The checkout.
        let root: String
        /// The build's HOME, inside its scratch folder.
        let home: String
        /// The scratch folder (stage scripts, HOME).
        let scratch: String
        /// The checkout's appRoot folder, where the commands run.
        let workingDirectory: String
    }

    /// What every stage of one build shares.
    struct StageSettings {
        let environment: [String: String]
        let limits: BuildLimits
        let watchdog: BuildWatchdog
        let cgroup: BuildCgroup?
        let deadline: ContinuousClock.Instant
    }

    /// How the stages ended: all passed, the test stage failed (test artifacts are still collected),
    /// or the build ends now with this status.
    enum StagesOutcome {
        case passed
        case testFailed(BuildFailure)
        case ended(BuildResult.Status)
    }

    func execute(
        _ request: BuildRequest, log: BuildLog, scratch: String, cgroup: BuildCgroup?,
        deadline: ContinuousClock.Instant, result: inout BuildResult
    ) async -> BuildResult.Status {
        guard let plan = Self.backendChecked(request, log: log) else { return .failed(Self.backendRefusal(request)) }
        let folders: Folders
        switch Self.makeFolders(for: request, plan: plan, scratch: scratch) {
        case .success(let made): folders = made
        case .failure(let failure): return .failed(failure)
        }
        let cache = BuildCache(plan: plan)
        let places = BuildCache.Places(checkout: folders.root, home: folders.home, user: request.runAs)
        if let failure = await prepare(request, cache: cache, places: places, scratch: scratch, log: log) {
            return .failed(failure)
        }

        let settings = Self.stageSettings(for: request, folders: folders, cgroup: cgroup, deadline: deadline)
        var testFailure: BuildFailure?
        switch await runStages(plan, request, folders: folders, settings: settings, log: log, result: &result) {
        case .ended(let status): return status
        case .testFailed(let failure): testFailure = failure
        case .passed: break
        }

        // Nothing the build left running may change the checkout while root reads it.
        if request.runAs != nil {
            let problems = await onDedicatedThread {
                BuildUser.takeBack(folders.root) + BuildUser.takeBack(folders.home)
            }
            problems.prefix(3).forEach { log.note("## Warning: \($0)") }
        }
        await Self.collectTestArtifacts(plan, request, root: folders.root, log: log)
        if let testFailure { return .failed(testFailure) }
        if Task.isCancelled { return .cancelled }
        if let failure = await Self.collectArtifacts(plan, request, folders: folders, log: log, result: &result) {
            return .failed(failure)
        }
        if let cacheDirectory = request.cacheDirectory, !cache.isEmpty {
            let lines = await onDedicatedThread { cache.save(from: places, cacheDirectory: cacheDirectory) }
            lines.forEach { log.note($0) }
        }
        return .succeeded
    }

    // MARK: - Before the stages

    /// The failure for a backend stage that would run Amplify's own AWS deploy.
    static func backendRefusal(_ request: BuildRequest) -> BuildFailure {
        let (phase, command) = request.plan.amplifyBackendCommand!
        return BuildFailure(
            stage: .backend, phase: phase, command: command.text, location: command.location,
            message: "`\(command.text)` is Amplify's AWS backend deploy (it needs the Amplify CLI and AWS "
                + "credentials); Canopy hosts the static frontend only. Add `skipBackend: true` to the site's "
                + "Sites file to skip the backend phases (or remove them from amplify.yml)")
    }

    /// Makes HOME (with the build tools), and checks that the artifact folder is empty and that
    /// appRoot is a folder inside the checkout.
    static func makeFolders(
        for request: BuildRequest, plan: BuildPlan, scratch: String
    ) -> Result<Folders, BuildFailure> {
        let root = request.sourceDirectory
        let home = scratch + "/home"
        do {
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            try BuildTools.install(home: home)
        } catch {
            return .failure(BuildFailure(message: "cannot create the build's scratch folder \(scratch): \(error)"))
        }
        if let existing = try? FileManager.default.contentsOfDirectory(atPath: request.artifactDirectory),
            !existing.isEmpty
        {
            return .failure(
                BuildFailure(
                    message: "the artifact folder \(request.artifactDirectory) is not empty; "
                        + "give each build a new folder"))
        }
        guard let appFolder = RelativePath.resolve(plan.appRoot) else {
            return .failure(BuildFailure(message: "appRoot `\(plan.appRoot)` is outside the repository"))
        }
        let workingDirectory = appFolder.isEmpty ? root : root + "/" + appFolder
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: workingDirectory, isDirectory: &isDirectory),
            isDirectory.boolValue
        else {
            return .failure(
                BuildFailure(
                    message: "appRoot `\(plan.appRoot)` does not exist in commit \(request.commit) of branch "
                        + "\(request.branch); fix appRoot in the Sites file or amplify.yml"))
        }
        return .success(Folders(root: root, home: home, scratch: scratch, workingDirectory: workingDirectory))
    }

    /// The environment, limits and watchdog: limits apply only to a build that runs as a uid of its own.
    static func stageSettings(
        for request: BuildRequest, folders: Folders, cgroup: BuildCgroup?, deadline: ContinuousClock.Instant
    ) -> StageSettings {
        let ownUID = request.runAs?.exclusive == true ? request.runAs?.uid : nil
        let limits = ownUID != nil ? request.limits : BuildLimits()
        return StageSettings(
            environment: BuildEnvironment.make(for: request, home: folders.home), limits: limits,
            watchdog: BuildWatchdog(
                limits: limits, cgroup: cgroup, folders: [folders.root, folders.home], uid: ownUID),
            cgroup: cgroup, deadline: deadline)
    }

    // MARK: - The stages

    /// Runs the stages in order; the first that fails ends the run (a failed test stage too, though
    /// the build still collects its test artifacts).
    func runStages(
        _ plan: BuildPlan, _ request: BuildRequest, folders: Folders, settings: StageSettings, log: BuildLog,
        result: inout BuildResult
    ) async -> StagesOutcome {
        for (stageIndex, stage) in plan.stages.enumerated() {
            if Task.isCancelled { return .ended(.cancelled) }
            let outcome = await runStage(
                stage, index: stageIndex, request, folders: folders, settings: settings, log: log, result: &result)
            if case .passed = outcome { continue }
            return outcome
        }
        return .passed
    }

    /// One stage: its script written, run, its stragglers stopped, its ending judged.
    func runStage(
        _ stage: BuildStage, index: Int, _ request: BuildRequest, folders: Folders, settings: StageSettings,
        log: BuildLog, result: inout BuildResult
    ) async -> StagesOutcome {
        log.note("## Starting stage: \(stage.kind.rawValue)")
        let script = StageScript(
            stage: stage, folder: folders.scratch + "/stage-\(index)", workingDirectory: folders.workingDirectory,
            cpuSeconds: request.cpuSeconds, limits: settings.limits, memoryPerProcess: settings.cgroup == nil)
        do {
            try script.write()
            if let user = request.runAs { try script.share(with: user) }
        } catch {
            return .ended(.failed(BuildFailure(stage: stage.kind, message: "cannot write the stage script: \(error)")))
        }
        let watchdog = settings.watchdog
        var ending = await StageProcess.run(
            script: script.scriptPath, environment: settings.environment, runAs: request.runAs,
            cgroup: settings.cgroup, watchdog: watchdog.isActive ? watchdog : nil, log: log,
            deadline: settings.deadline)
        let stragglers = await onDedicatedThread { [runAs = request.runAs] in
            // A uid of its own: every process of it is this stage's, whatever it did to hide.
            Stragglers.kill(buildID: request.buildID) + (runAs?.exclusive == true ? runAs!.endAllProcesses() : 0)
        }
        if stragglers > 0 {
            log.note("## Stopped \(stragglers) processes the stage left running outside its process group")
        }
        ending = await Self.lastLook(watchdog, after: ending)
        let progress = script.readProgress()
        result.phaseDurations += Self.durations(of: stage, progress: progress)
        return Self.judge(ending, stage: stage, script: script, progress: progress, request: request, log: log)
    }

    /// What a stage's ending means for the build.
    static func judge(
        _ ending: StageProcess.Ending, stage: BuildStage, script: StageScript, progress: StageScript.Progress,
        request: BuildRequest, log: BuildLog
    ) -> StagesOutcome {
        switch ending {
        case .cancelled: return .ended(.cancelled)
        case .timedOut: return .ended(.timedOut)
        case .spawnFailed(let message):
            return .ended(.failed(BuildFailure(stage: stage.kind, message: message)))
        case .stopped(let reason):
            log.note("## Build stopped: \(reason)")
            return .ended(.failed(BuildFailure(stage: stage.kind, message: "the build was stopped: \(reason)")))
        case .outputLimit:
            return .ended(
                .failed(
                    BuildFailure(
                        stage: stage.kind,
                        message: "the build wrote more than \(request.maxLogBytes) bytes of output and was stopped; "
                            + "make the commands quieter (for example --silent) or raise the limit")))
        case .exited(let code):
            if code == 0 && progress.reachedEnd { return .passed }
            let failure = Self.failure(stage: stage, script: script, progress: progress, code: code)
            return stage.kind == .test ? .testFailed(failure) : .ended(.failed(failure))
        }
    }

    // MARK: - After the stages

    /// Test artifacts, even when tests failed; a problem is a warning, not a failure.
    static func collectTestArtifacts(_ plan: BuildPlan, _ request: BuildRequest, root: String, log: BuildLog) async {
        guard let selection = plan.testArtifacts, let destination = request.testArtifactDirectory else { return }
        let collector = ArtifactCollector(
            root: root, appRoot: plan.appRoot, selection: selection, label: "test.artifacts.baseDirectory")
        switch await collect(collector, into: destination) {
        case .success(let files): log.note("## Test artifacts: \(files.fileCount) files")
        case .failure(let error): log.note("## Warning: test artifacts not collected: \(error)")
        }
    }

    /// The artifacts into the request's artifact folder (emptied again when collection fails), with
    /// their warnings and the check for server output.
    static func collectArtifacts(
        _ plan: BuildPlan, _ request: BuildRequest, folders: Folders, log: BuildLog, result: inout BuildResult
    ) async -> BuildFailure? {
        var collector = ArtifactCollector(root: folders.root, appRoot: plan.appRoot, selection: plan.artifacts)
        // A build user's files stay its own: they are copied, so that nothing it left can change them.
        collector.linkFiles = request.runAs == nil
        let destination = request.artifactDirectory
        if let kept = request.keptArtifactDirectory {
            collector.refresh = await onDedicatedThread { [linkFiles = collector.linkFiles] in
                if linkFiles && rename(kept, destination) == 0 { return true }
                try? FileManager.default.removeItem(atPath: kept)
                return false
            }
        }
        switch await collect(collector, into: destination) {
        case .failure(let failure):
            await onDedicatedThread { Self.emptyFolder(destination) }
            return failure
        case .success(let outcome):
            result.artifactCount = outcome.fileCount
            result.byteCount = outcome.byteCount
            let kept = collector.refresh ? " (\(outcome.kept) links kept from the last build)" : ""
            log.note("## Artifacts: \(outcome.fileCount) files, \(outcome.byteCount) bytes\(kept)")
            outcome.warnings.forEach { log.note("## Warning: \($0)") }
            let serverOutput = await onDedicatedThread { [artifacts = plan.artifacts] in
                ServerOutputCheck.warnings(appFolder: folders.workingDirectory, artifacts: artifacts)
            }
            serverOutput.forEach { log.note("## Warning: \($0)") }
            return nil
        }
    }

    /// Runs a collector on a thread of its own.
    static func collect(
        _ collector: ArtifactCollector, into destination: String
    ) async -> Result<ArtifactCollector.Outcome, BuildFailure> {
        await onDedicatedThread { () -> Result<ArtifactCollector.Outcome, BuildFailure> in
            do throws(BuildFailure) { return .success(try collector.collect(into: destination)) } catch {
                return .failure(error)
            }
        }
    }
}
