import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Asks a running stage to stop (from a cancellation handler or the watchdog, on another thread).
///
/// `@unchecked Sendable`: `cancelled` and `limit` are only touched while holding `lock`.
final class StopSwitch: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false
    private var limit: String?

    func cancel() { lock.withLock { cancelled = true } }
    var isCancelled: Bool { lock.withLock { cancelled } }

    /// The build went over a limit (the first reason given is kept).
    func stop(limit reason: String) { lock.withLock { limit = limit ?? reason } }
    var limitExceeded: String? { lock.withLock { limit } }
}

/// One `bash` process in its own process group, its stdout+stderr streamed into the build log.
/// Everything here is blocking and runs on a dedicated thread, never on the cooperative pool.
enum StageProcess {
    enum Ending: Sendable, Equatable {
        case exited(Int32)
        case cancelled
        case timedOut
        case outputLimit
        /// The watchdog stopped it: a sentence saying which limit it passed.
        case stopped(String)
        case spawnFailed(String)
    }

    /// Runs `bash <script>` with exactly `environment`, until it ends or is stopped.
    /// The whole process group (background children included) is killed before this returns.
    /// With `cgroup`, the process enters it before it runs anything of the build's.
    static func runBlocking(
        script: String, environment: [String: String], runAs: BuildUser?, cgroup: BuildCgroup? = nil,
        log: BuildLog, deadline: ContinuousClock.Instant, stop: StopSwitch, killGrace: Duration = .seconds(2)
    ) -> Ending {
        let pid: pid_t
        let readFd: Int32
        switch launch(script: script, environment: environment, runAs: runAs, cgroup: cgroup) {
        case .running(let started, let output):
            pid = started
            readFd = output
        case .failed(let ending):
            return ending
        }
        defer { close(readFd) }
        var supervision = Supervision(pid: pid, killGrace: killGrace)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        // Once the output is closed, the exit is looked for after 1 ms, then 2, 4 … up to 50 ms: bash
        // closes its output a moment before it can be reaped, and a fixed 50 ms wait there cost every
        // stage of a trivial build 50 ms (a third of a one-page push-to-live).
        var idle: UInt32 = 1_000
        while true {
            if !supervision.eof {
                supervision.drain(readFd, into: &buffer, log: log)
            } else {
                usleep(idle)
                idle = min(idle * 2, 50_000)
            }
            if !supervision.exited { supervision.reap() }
            if !supervision.exited { supervision.enforce(stop, deadline: deadline) }
            if supervision.isDone { break }
        }
        log.flushPartialLine()
        return supervision.ending ?? .exited(255)
    }

    /// A started stage (its pid and the read end of its output pipe), or why it could not start.
    enum Launch {
        case running(pid_t, output: Int32)
        case failed(Ending)
    }

    /// Starts `bash <script>` (as `runAs`, inside `cgroup`) with its output into a new pipe.
    static func launch(
        script: String, environment: [String: String], runAs: BuildUser?, cgroup: BuildCgroup?
    ) -> Launch {
        var fds: [Int32] = [-1, -1]
        // pipe2 is not exported to Swift; set close-on-exec right after (a concurrent spawn could inherit the
        // write end for a moment, which the grace period after exit tolerates).
        guard pipe(&fds) == 0 else {
            return .failed(.spawnFailed("cannot create a pipe: \(String(cString: strerror(errno)))"))
        }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        let readFd = fds[0]
        let writeFd = fds[1]
        defer { close(writeFd) }
        func failed(_ message: String) -> Launch {
            close(readFd)
            return .failed(.spawnFailed(message))
        }

        let bash = ["/bin/bash", "/usr/bin/bash", "/usr/local/bin/bash"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        guard let bash else { return failed("bash is not installed (looked in /bin, /usr/bin, /usr/local/bin)") }
        var argv = [bash, "--noprofile", "--norc", script]
        if let runAs {
            guard let wrapped = runAs.wrap(argv) else {
                return failed("setpriv is not installed (package util-linux), so the build cannot run as \(runAs.name)")
            }
            argv = wrapped
        }
        if let cgroup { argv = CgroupEntry.wrap(argv, procsFiles: cgroup.procsFiles) }
        let envp = environment.map { "\($0.key)=\($0.value)" }

        var pid: pid_t = 0
        let spawnError = spawn(path: argv[0], argv: argv, envp: envp, stdoutFd: writeFd, pid: &pid)
        if spawnError != 0 { return failed("cannot start \(argv[0]): \(String(cString: strerror(spawnError)))") }
        return .running(pid, output: readFd)
    }

    /// posix_spawn in a new process group, stdin from /dev/null, stdout and stderr to `stdoutFd`,
    /// with default signal dispositions. Returns an errno value (0 on success).
    private static func spawn(
        path: String, argv: [String], envp: [String], stdoutFd: Int32, pid: inout pid_t
    )
        -> Int32
    {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }

        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD, SIGALRM, SIGUSR1, SIGUSR2, SIGXCPU] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutFd, 1)
        posix_spawn_file_actions_adddup2(&actions, stdoutFd, 2)
        // Nothing else of the server's: not its listening sockets, connections, database or store files
        // (many are opened without close-on-exec by the libraries that own them). A build holding the
        // public listener could answer visitors, or keep the port taken after the server stops.
        closeInheritedDescriptors(&actions)

        let cArgv = argv.map { strdup($0) } + [nil]
        let cEnvp = envp.map { strdup($0) } + [nil]
        defer {
            cArgv.forEach { free($0) }
            cEnvp.forEach { free($0) }
        }
        return posix_spawn(&pid, path, &actions, &attributes, cArgv, cEnvp)
    }

    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which Swift's Glibc module does not
    /// declare (it is a GNU extension).
    private static let closeFrom: CloseFrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
        else { return nil }
        return unsafeBitCast(symbol, to: CloseFrom.self)
    }()

    /// Makes the child start with descriptors 0, 1 and 2 only.
    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        if let closeFrom, closeFrom(&actions, 3) == 0 { return }
        // Older C libraries: mark every open descriptor above 2 close-on-exec instead.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            guard let fd = Int32(name), fd > 2 else { continue }
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    /// Runs `runBlocking` on a dedicated thread; cancelling the calling task stops the stage.
    /// With `watchdog`, the stage is stopped when the build goes over a limit.
    static func run(
        script: String, environment: [String: String], runAs: BuildUser?, cgroup: BuildCgroup? = nil,
        watchdog: BuildWatchdog? = nil, log: BuildLog, deadline: ContinuousClock.Instant
    ) async -> Ending {
        let stop = StopSwitch()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let thread = Thread {
                    let done = StopSwitch()
                    watchdog?.start(stopping: stop, until: done)
                    let ending = runBlocking(
                        script: script, environment: environment, runAs: runAs, cgroup: cgroup, log: log,
                        deadline: deadline, stop: stop)
                    done.cancel()
                    continuation.resume(returning: ending)
                }
                thread.name = "canopy-build-stage"
                thread.start()
            }
        } onCancel: {
            stop.cancel()
        }
    }
}

/// Runs blocking file work on a dedicated thread, off the cooperative pool.
func onDedicatedThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: work()) }
        thread.name = "canopy-build-io"
        thread.start()
    }
}
