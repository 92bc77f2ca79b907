import CanopySpec
import Foundation
import Logging

/// Runs one `BuildPlan` against a checked-out source folder: each stage as one bash session in its own
/// process group, with a clean environment, a streamed and masked log, a timeout, the branch cache, and
/// artifact collection.
///
/// HOME is a fresh folder per build inside the build's scratch area (removed afterwards), so builds do not
/// share or leak state through dotfiles; use `cache.paths` for anything worth keeping.
public final class BuildRunner: Sendable {
    /// Scratch areas (scripts, HOME) are made under this folder.
    public let scratchRoot: String

    public init(scratchRoot: String = NSTemporaryDirectory()) {
        self.scratchRoot = scratchRoot
    }

    /// Runs the build. Cancelling the calling task kills the running stage's process group and returns
    /// `.cancelled`. `onLog` receives each (masked) log line as it is written.
    public func run(
        _ request: BuildRequest, logger: Logger, onLog: (@Sendable (String) -> Void)? = nil
    ) async -> BuildResult {
        var logger = logger
        logger[metadataKey: "site"] = "\(request.site)"
        logger[metadataKey: "branch"] = "\(request.branch)"
        logger[metadataKey: "commit"] = "\(request.commit)"
        logger[metadataKey: "build"] = "\(request.buildID)"
        let clock = ContinuousClock()
        let started = clock.now
        var result = BuildResult(
            status: .succeeded, phaseDurations: [], duration: .zero, artifactCount: 0, byteCount: 0)

        let log: BuildLog
        do {
            log = try BuildLog(
                path: request.logFile, secrets: request.secrets, maxBytes: request.maxLogBytes, onLog: onLog)
        } catch {
            let failure = error as? BuildFailure ?? BuildFailure(message: "\(error)")
            logger.error("build could not start: \(failure)")
            result.status = .failed(failure)
            return result
        }
        let scratch = scratchRoot + "/canopy-build-\(Self.safeName(request.buildID))-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: scratch) }

        logger.info("build started")
        log.note("## Build \(request.buildID) of \(request.site) branch \(request.branch) at commit \(request.commit)")
        switch await onDedicatedThread({ Self.makeCgroup(for: request) }) {
        case .success(let cgroup):
            result.status = await execute(
                request, log: log, scratch: scratch, cgroup: cgroup, deadline: started + request.timeout,
                result: &result)
            if let cgroup { await Self.removeCgroup(cgroup, limit: request.limits.memoryBytes, log: log) }
        case .failure(let problem):
            result.status = .failed(BuildFailure(message: "cannot give the build its cgroup: \(problem)"))
        }
        result.duration = clock.now - started

        let seconds =
            Double(result.duration.components.seconds)
            + Double(result.duration.components.attoseconds) / 1e18
        let took = String(format: "%.1f s", seconds)
        switch result.status {
        case .succeeded:
            log.note("## Build succeeded in \(took): \(result.artifactCount) files, \(result.byteCount) bytes")
            logger.info("build succeeded", metadata: ["files": "\(result.artifactCount)"])
        case .failed(let failure):
            log.note("## Build failed in \(took): \(failure)")
            logger.notice("build failed: \(failure)")
        case .cancelled:
            log.note("## Build cancelled after \(took)")
            logger.notice("build cancelled")
        case .timedOut:
            log.note("## Build timed out after \(took) (limit \(request.timeout))")
            logger.notice("build timed out")
        }
        return result
    }

    // MARK: - Steps

    /// The plan to run: without its backend stage when the site skips backends; nil when the backend
    /// stage would run Amplify's own AWS deploy (refused before anything runs).
    static func backendChecked(_ request: BuildRequest, log: BuildLog) -> BuildPlan? {
        let plan = request.plan
        guard plan.stages.contains(where: { $0.kind == .backend }) else { return plan }
        if request.skipBackend {
            log.note("## Backend phases skipped (skipBackend: true in the Sites file)")
            return plan.withoutBackend
        }
        return plan.amplifyBackendCommand == nil ? plan : nil
    }

    /// Before the first stage, as root: the cache restore, then the hand-over of the checkout (with
    /// the `.git` the caller made in it) and HOME to the build user.
    func prepare(
        _ request: BuildRequest, cache: BuildCache, places: BuildCache.Places, scratch: String, log: BuildLog
    ) async -> BuildFailure? {
        cache.warnings.forEach { log.note("## Warning: \($0)") }
        let restoreLines = await onDedicatedThread {
            cache.restore(
                into: places, cacheDirectory: request.cacheDirectory, seedDirectory: request.seedCacheDirectory)
        }
        restoreLines.forEach { log.note($0) }
        if let user = request.runAs {
            if let problem = await onDedicatedThread({
                Self.handOver(root: places.checkout, home: places.home, scratch: scratch, to: user)
            }) {
                return BuildFailure(message: problem)
            }
            log.note("## Running as user \(user.name) (uid \(user.uid))")
        }
        return nil
    }

    // MARK: - Helpers

    /// Gives the build user its checkout and HOME; the scratch folder (stage scripts) stays root's
    /// and readable, so the build can neither rewrite a later stage's script nor plant a link where
    /// the runner writes one. Returns a problem to fail the build with.
    private static func handOver(root: String, home: String, scratch: String, to user: BuildUser) -> String? {
        if let blocked = user.firstFolderBlocking(root) {
            return "the build user \(user.name) cannot enter \(blocked); builds that run as another user need "
                + "their checkout where that user can pass through"
        }
        // A uid of its own gets a group of its own: only it may pass into the scratch folder
        // (its HOME, its stage scripts); a shared account's builds pass as others.
        if user.exclusive {
            chown(scratch, 0, user.gid)
            chmod(scratch, 0o710)
        } else {
            chmod(scratch, 0o755)
        }
        let failed = user.own(root) + user.own(home)
        chmod(home, 0o700)
        if let first = failed.first {
            return "cannot give \(failed.count) files of the checkout to \(user.name); the first: \(first)"
        }
        return nil
    }

    static func emptyFolder(_ path: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
            try? FileManager.default.removeItem(atPath: path + "/" + name)
        }
    }

    private static func safeName(_ text: String) -> String {
        String(text.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }.prefix(64))
    }
}
