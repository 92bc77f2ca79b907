import CanopySpec
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension BuildRunner {
    /// The cgroup a build gets (see `BuildCgroups`): for a build that runs as a uid of its own, when
    /// the server can make one and a memory or process limit is set. nil: none. Blocking.
    static func makeCgroup(for request: BuildRequest) -> Result<BuildCgroup?, BuildCgroups.Problem> {
        guard request.runAs?.exclusive == true, let cgroups = request.cgroups,
            request.limits.memoryBytes != nil || request.limits.processes != nil
        else { return .success(nil) }
        return cgroups.make(
            buildID: request.buildID, memoryBytes: request.limits.memoryBytes, processes: request.limits.processes
        ).map { $0 }
    }

    /// After the build: ends what is left in its cgroup and removes it, noting the peak memory.
    static func removeCgroup(_ cgroup: BuildCgroup, limit: Int?, log: BuildLog) async {
        let (peak, problem) = await onDedicatedThread { (cgroup.peakMemory(), cgroup.remove()) }
        if let peak, let limit {
            log.note(
                "## Memory: at most \(ByteCount.format(peak)) in use at once (the limit: \(ByteCount.format(limit)))")
        }
        if let problem { log.note("## Warning: \(problem)") }
    }

    /// The watchdog's look after a stage ended by itself: a stage that went over a limit and ended
    /// before the watchdog saw it (the OOM killer's victim fails the stage at once; a fast writer
    /// ends between two measurements) is stopped for that reason.
    static func lastLook(_ watchdog: BuildWatchdog, after ending: StageProcess.Ending) async -> StageProcess.Ending {
        guard watchdog.isActive else { return ending }
        switch ending {
        case .exited, .outputLimit:
            return await onDedicatedThread { watchdog.check() }.map { .stopped($0) } ?? ending
        default:
            return ending
        }
    }

    static func failure(
        stage: BuildStage, script: StageScript, progress: StageScript.Progress, code: Int32
    )
        -> BuildFailure
    {
        let commands = script.commands
        if let index = progress.unfinishedCommand, index < commands.count {
            let (phase, command) = commands[index]
            return BuildFailure(
                stage: stage.kind, phase: phase, command: command.text, location: command.location, exitCode: code,
                message: "command `\(command.text)` in \(stage.kind.rawValue)/\(phase) exited with status \(code)"
                    + (code == 128 + SIGXCPU ? " (it used up the build's CPU time limit)" : "")
                    + (code == 128 + SIGXFSZ ? " (it wrote a file larger than the build's file size limit)" : ""))
        }
        if code == 0 {
            return BuildFailure(
                stage: stage.kind, exitCode: code,
                message: "the \(stage.kind.rawValue) stage ended before its last command (did a command call "
                    + "`exit`?); remove the early exit")
        }
        return BuildFailure(
            stage: stage.kind, exitCode: code,
            message: "the \(stage.kind.rawValue) stage's shell exited with status \(code) outside any command")
    }

    static func durations(
        of stage: BuildStage, progress: StageScript.Progress
    )
        -> [BuildResult.PhaseDuration]
    {
        let now = Date().timeIntervalSince1970
        return stage.phases.enumerated().compactMap { index, phase in
            guard let start = progress.phaseStarts[index] else { return nil }
            let end = progress.phaseStarts[index + 1] ?? progress.endTime ?? now
            return BuildResult.PhaseDuration(
                stage: stage.kind, phase: phase.name, duration: .milliseconds(Int64(max(0, end - start) * 1000)))
        }
    }

}
