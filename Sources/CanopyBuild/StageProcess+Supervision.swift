import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension StageProcess {
    /// The state of one running stage as `runBlocking` watches it: its output read into the log,
    /// its exit reaped, cancellation, limits and the deadline enforced (SIGTERM to the group, then
    /// SIGKILL after the grace period). Blocking; used on the stage's dedicated thread only.
    struct Supervision {
        let pid: pid_t
        let killGrace: Duration
        let clock = ContinuousClock()
        /// How it ended, once known (the first reason wins).
        private(set) var ending: Ending?
        private(set) var exited = false
        private(set) var eof = false
        private var killStarted: ContinuousClock.Instant?
        private var killedHard = false
        private var exitedAt: ContinuousClock.Instant?

        init(pid: pid_t, killGrace: Duration) {
            self.pid = pid
            self.killGrace = killGrace
        }

        /// Exited, and the output read to its end, or the grace period passed: a process that left
        /// the group may still hold the pipe, and is not waited for forever.
        var isDone: Bool {
            exited && (eof || clock.now - exitedAt! >= killGrace)
        }

        /// Waits up to 100 ms for output and appends what came to the log; past the log's limit,
        /// the stage is stopped.
        mutating func drain(_ readFd: Int32, into buffer: inout [UInt8], log: BuildLog) {
            var pfd = pollfd(fd: readFd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 100) > 0 else { return }
            let count = buffer.withUnsafeMutableBytes { read(readFd, $0.baseAddress!, $0.count) }
            if count == 0 {
                eof = true
            } else if count > 0 {
                let accepted = buffer.withUnsafeBytes {
                    log.append(UnsafeRawBufferPointer(rebasing: $0[0..<count]))
                }
                if !accepted { beginKill(.outputLimit) }
            } else if errno != EINTR && errno != EAGAIN {
                eof = true
            }
        }

        /// Notes the stage's exit, if it has exited, and kills what it left running in its group.
        mutating func reap() {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                exited = true
                exitedAt = clock.now
                let signal = status & 0x7f
                let code = signal == 0 ? (status >> 8) & 0xff : 128 + signal
                if ending == nil { ending = .exited(code) }
                // Whatever the stage left running in the background goes with it.
                kill(-pid, SIGKILL)
                killedHard = true
            } else if result < 0 && errno != EINTR {
                exited = true
                exitedAt = clock.now
                if ending == nil { ending = .exited(255) }
            }
        }

        /// Stops a running stage that was cancelled, went over a limit or passed its deadline; a
        /// stage still running a grace period after SIGTERM gets SIGKILL.
        mutating func enforce(_ stop: StopSwitch, deadline: ContinuousClock.Instant) {
            if stop.isCancelled { beginKill(.cancelled) }
            if let reason = stop.limitExceeded { beginKill(.stopped(reason)) }
            if clock.now >= deadline { beginKill(.timedOut) }
            if let started = killStarted, !killedHard, clock.now - started >= killGrace {
                kill(-pid, SIGKILL)
                killedHard = true
            }
        }

        private mutating func beginKill(_ reason: Ending) {
            guard killStarted == nil else { return }
            ending = ending ?? reason
            killStarted = clock.now
            kill(-pid, SIGTERM)
        }
    }
}
