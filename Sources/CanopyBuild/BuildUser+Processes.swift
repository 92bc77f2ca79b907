import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension BuildUser {
    /// Kills every process of this user's uid: `kill(-1, SIGKILL)` sent as the uid itself, which
    /// the kernel applies to all of the uid's processes under the task-list lock, so a fork cannot
    /// slip past it (a process group or a scan of /proc can be outrun). Only for a uid that belongs
    /// to one build (`exclusive`): a shared account's other builds would go too. Repeats until /proc
    /// shows none left alive (zombies aside). Blocking. Returns how many were alive before.
    @discardableResult
    public func endAllProcesses() -> Int {
        let before = Self.livingProcesses(uids: uid...uid).count
        guard before > 0 else { return 0 }
        for _ in 0..<10 {
            Self.runAs(uid: uid, gid: gid, ["/bin/bash", "--noprofile", "--norc", "-c", "kill -KILL -1"])
            if Self.livingProcesses(uids: uid...uid).isEmpty { break }
            usleep(20_000)
        }
        return before
    }

    /// The processes (pid, uid) whose real uid is in `uids`, not counting zombies. Blocking.
    public static func livingProcesses(uids: ClosedRange<uid_t>) -> [(pid: Int32, uid: uid_t)] {
        var found: [(pid: Int32, uid: uid_t)] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(name),
                let status = try? String(contentsOfFile: "/proc/\(name)/status", encoding: .utf8)
            else { continue }
            var uid: uid_t?
            var zombie = false
            for line in status.split(separator: "\n") {
                if line.hasPrefix("State:") { zombie = line.contains("Z") }
                if line.hasPrefix("Uid:") {
                    uid = line.split(whereSeparator: \.isWhitespace).dropFirst().first.flatMap { uid_t($0) }
                }
            }
            if let uid, uids.contains(uid), !zombie { found.append((pid, uid)) }
        }
        return found
    }

    /// Runs `argv` as `uid`/`gid` through setpriv (no groups, no new privileges) and waits for it.
    static func runAs(uid: uid_t, gid: gid_t, _ argv: [String]) {
        guard let setpriv else { return }
        let full = [setpriv, "--reuid=\(uid)", "--regid=\(gid)", "--clear-groups", "--no-new-privs", "--"] + argv
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in [0, 1, 2] {
            posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        let cArgv = full.map { strdup($0) } + [nil]
        let cEnvp: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/bin:/bin"), nil]
        defer {
            cArgv.forEach { free($0) }
            cEnvp.forEach { free($0) }
        }
        var pid: pid_t = 0
        guard posix_spawn(&pid, setpriv, &actions, nil, cArgv, cEnvp) == 0 else { return }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }

    /// Removes what this uid left in the shared temporary folders (`/tmp`, `/var/tmp`, `/dev/shm`),
    /// so that the next build given the uid finds nothing of this one. Call after
    /// `endAllProcesses` (nothing of the uid runs to add more). Blocking.
    public func removeTemporaryFiles() {
        for folder in ["/tmp", "/var/tmp", "/dev/shm"] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
                var info = stat()
                guard lstat(folder + "/" + name, &info) == 0, info.st_uid == uid else { continue }
                try? FileManager.default.removeItem(atPath: folder + "/" + name)
            }
        }
    }
}
