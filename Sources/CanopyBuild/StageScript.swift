import CanopySpec
import Foundation

/// The bash script for one stage, plus the marker file that tells which command was running when it stopped.
///
/// Each command's text is written to its own file and sourced (`.`), so quotes, `$`, heredocs and `&&` need
/// no escaping, and `cd`/`export` carry over. Before and after each command the script appends a marker to
/// the status file (`R i`, `O i`); phases write `P j <time>`, and the end of the stage `E <time>`.
/// The script runs under `set -e -o pipefail`, so the first failing command ends the stage.
struct StageScript {
    let stage: BuildStage
    let folder: String
    let workingDirectory: String
    let cpuSeconds: Int?
    var limits = BuildLimits()
    /// `limits.memoryBytes` as `RLIMIT_DATA` for each process: when no cgroup holds the build.
    var memoryPerProcess = false

    var scriptPath: String { folder + "/stage.sh" }
    var statusPath: String { folder + "/status" }

    /// The commands in order, flattened over phases, with their phase name.
    var commands: [(phase: String, command: BuildCommand)] {
        stage.phases.flatMap { phase in phase.commands.map { (phase.name, $0) } }
    }

    func write() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: statusPath, contents: Data())
        let status = Self.quote(statusPath)
        var lines = [
            "set -e -o pipefail",
            "cd \(Self.quote(workingDirectory))",
        ]
        if let cpuSeconds {
            // Soft limit sends SIGXCPU (exit 152, recognisable); the hard limit a little later is SIGKILL.
            lines.append(
                "ulimit -t \(cpuSeconds + 5) && ulimit -S -t \(cpuSeconds) || "
                    + "{ echo 'cannot set the CPU time limit (ulimit -t \(cpuSeconds))'; exit 1; }")
        }
        // Hard and soft at once: the build cannot raise them again.
        if let processes = limits.processes {
            lines.append(
                "ulimit -u \(processes) || { echo 'cannot set the process limit (ulimit -u \(processes))'; exit 1; }")
        }
        if let bytes = limits.fileSizeBytes {
            lines.append(
                "ulimit -f \(max(1, bytes / 1024)) || { echo 'cannot set the file size limit (ulimit -f)'; exit 1; }")
        }
        if memoryPerProcess, let bytes = limits.memoryBytes {
            lines.append(
                "ulimit -d \(max(1, bytes / 1024)) || { echo 'cannot set the memory limit (ulimit -d)'; exit 1; }")
        }
        var index = 0
        for (phaseIndex, phase) in stage.phases.enumerated() {
            lines.append("printf 'P %d %s\\n' \(phaseIndex) \"$EPOCHREALTIME\" >> \(status)")
            lines.append("printf '%s\\n' \(Self.quote("## Starting phase: \(phase.name)"))")
            for command in phase.commands {
                let commandFile = folder + "/command-\(index).sh"
                try (command.text + "\n").write(toFile: commandFile, atomically: false, encoding: .utf8)
                lines.append("printf 'R %d\\n' \(index) >> \(status)")
                lines.append("printf '%s\\n' \(Self.quote("# Executing command: \(command.text)"))")
                lines.append(". \(Self.quote(commandFile))")
                lines.append(
                    "__canopy_rc=$?; if [ \"$__canopy_rc\" -ne 0 ]; then exit \"$__canopy_rc\"; fi")
                lines.append("printf 'O %d\\n' \(index) >> \(status)")
                index += 1
            }
            lines.append("printf '%s\\n' \(Self.quote("## Completed phase: \(phase.name)"))")
        }
        lines.append("printf 'E %s\\n' \"$EPOCHREALTIME\" >> \(status)")
        lines.append("exit 0")
        try (lines.joined(separator: "\n") + "\n").write(toFile: scriptPath, atomically: false, encoding: .utf8)
    }

    /// Lets `user` run the stage: the folder and scripts readable (whatever the server's umask), the
    /// status file its own to append to; the folder itself stays the server's.
    func share(with user: BuildUser) throws {
        guard chmod(folder, 0o755) == 0 else { throw BuildFailure(message: "cannot chmod \(folder)") }
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) {
            chmod(folder + "/" + name, 0o644)
        }
        guard lchown(statusPath, user.uid, user.gid) == 0 else {
            throw BuildFailure(message: "cannot give \(statusPath) to \(user.name)")
        }
    }

    /// What the status file says after the stage ended.
    struct Progress {
        /// The command that started and did not finish, if any.
        var unfinishedCommand: Int?
        var reachedEnd: Bool
        /// Start times of the phases that started, and the end time.
        var phaseStarts: [Int: Double]
        var endTime: Double?
    }

    func readProgress() -> Progress {
        let text = (try? String(contentsOfFile: statusPath, encoding: .utf8)) ?? ""
        var started: Int?
        var progress = Progress(unfinishedCommand: nil, reachedEnd: false, phaseStarts: [:], endTime: nil)
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard let kind = fields.first else { continue }
            switch kind {
            case "R": started = fields.count > 1 ? Int(fields[1]) : nil
            case "O": started = nil
            case "P":
                if fields.count > 2, let phase = Int(fields[1]), let time = Double(fields[2]) {
                    progress.phaseStarts[phase] = time
                }
            case "E":
                progress.reachedEnd = true
                progress.endTime = fields.count > 1 ? Double(fields[1]) : nil
            default: break
            }
        }
        progress.unfinishedCommand = started
        return progress
    }

    /// A single-quoted bash word.
    static func quote(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
