import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One build's cgroup (see `BuildCgroups`): its stages' processes are placed in it before they run
/// anything of the build's, so that everything they start is counted against its limits.
public struct BuildCgroup: Sendable, Equatable {
    public let version: BuildCgroups.Version
    /// The cgroup's folders: one in v2; in v1 the memory hierarchy's, then the pids hierarchy's.
    let folders: [String]

    /// The files a process writes its pid to, to enter the cgroup (every hierarchy's).
    public var procsFiles: [String] { folders.map { $0 + "/cgroup.procs" } }

    private var memory: String { folders[0] }

    func setLimits(memoryBytes: Int?, processes: Int?) -> BuildCgroups.Problem? {
        var settings: [(file: String, value: String, required: Bool)] = []
        switch version {
        case .v2:
            if let memoryBytes {
                settings.append(("memory.max", "\(memoryBytes)", true))
                // No swap to spill into, and an OOM kill takes the whole build, not one process.
                settings.append(("memory.swap.max", "0", false))
                settings.append(("memory.oom.group", "1", false))
            }
            if let processes { settings.append(("pids.max", "\(processes)", false)) }
        case .v1:
            if let memoryBytes {
                settings.append(("memory.limit_in_bytes", "\(memoryBytes)", true))
                settings.append(("memory.memsw.limit_in_bytes", "\(memoryBytes)", false))
            }
        }
        for setting in settings {
            let status = CgroupFile.write(memory + "/" + setting.file, setting.value)
            if status != 0 && setting.required {
                return BuildCgroups.Problem("cannot set \(setting.file) of \(memory)", status)
            }
        }
        if version == .v1, let processes, folders.count > 1 {
            let status = CgroupFile.write(folders[1] + "/pids.max", "\(processes)")
            if status != 0 { return BuildCgroups.Problem("cannot set pids.max of \(folders[1])", status) }
        }
        return nil
    }

    /// How many processes the kernel's OOM killer has killed in the cgroup (it does so when the
    /// build's processes together reach the memory limit and nothing more can be reclaimed).
    public func oomKills() -> Int {
        let file = version == .v2 ? "/memory.events" : "/memory.oom_control"
        return CgroupFile.value("oom_kill", in: CgroupFile.read(memory + file)) ?? 0
    }

    /// The most memory the build's processes used at once, when the kernel reports it.
    public func peakMemory() -> Int? {
        let file = version == .v2 ? "/memory.peak" : "/memory.max_usage_in_bytes"
        return (CgroupFile.read(memory + file)?.trimmingCharacters(in: .whitespacesAndNewlines)).flatMap { Int($0) }
    }

    /// The processes in the cgroup now.
    func processes() -> [pid_t] {
        folders.flatMap { folder in
            (CgroupFile.read(folder + "/cgroup.procs") ?? "").split(separator: "\n").compactMap { pid_t($0) }
        }
    }

    /// Kills every process in the cgroup: `cgroup.kill` where the kernel has it (v2, Linux 5.14+:
    /// exact, forks included), else SIGKILL to each listed process until none is left.
    public func killAll() {
        if version == .v2, CgroupFile.write(memory + "/cgroup.kill", "1") == 0 {
            for _ in 0..<100 where !processes().isEmpty { usleep(10_000) }
            return
        }
        for _ in 0..<100 {
            let left = processes()
            if left.isEmpty { return }
            for pid in left { kill(pid, SIGKILL) }
            usleep(10_000)
        }
    }

    /// Kills what is left and removes the cgroup. Returns a problem for the log, or nil. Blocking.
    public func remove() -> String? {
        killAll()
        var problem: String?
        for folder in folders.reversed() {
            var removed = false
            // A killed process leaves its cgroup when it has fully exited: try for a moment.
            for _ in 0..<100 {
                if rmdir(folder) == 0 || errno == ENOENT {
                    removed = true
                    break
                }
                usleep(20_000)
            }
            if !removed { problem = "cannot remove the build's cgroup \(folder): \(String(cString: strerror(errno)))" }
        }
        return problem
    }
}

/// Puts a stage's process into its build's cgroup before it runs anything of the build's: the
/// process starts as `sh` (still root), writes its own pid to each `cgroup.procs`, and only then
/// `exec`s the stage (setpriv, bash). Whatever the stage starts is born inside the cgroup; moving
/// a process in after it started could miss the children it forked in the meantime.
enum CgroupEntry {
    static let shell =
        ["/bin/sh", "/usr/bin/sh"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/bin/sh"

    static let script =
        "while [ \"$1\" != -- ]; do echo $$ > \"$1\" || { echo \"canopy: cannot enter the build's cgroup ($1)\"; "
        + "exit 125; }; shift; done; shift; exec \"$@\""

    static func wrap(_ argv: [String], procsFiles: [String]) -> [String] {
        [shell, "-c", script, "canopy-cgroup"] + procsFiles + ["--"] + argv
    }
}
