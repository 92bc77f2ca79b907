import CanopySpec
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Watches a running build's memory and disk use and stops it when it goes over a limit.
///
/// Memory: the build's cgroup counts the kernel's OOM kills (cheap, read every quarter second).
/// Disk: the build's checkout and HOME, and what its uid made in the temporary folders, are
/// measured at an interval that grows with how long a measurement takes (at most a tenth of the
/// time goes to measuring), and once more after each stage, so a stage that wrote fast and ended
/// is caught too. A single file is bounded by `RLIMIT_FSIZE` besides.
final class BuildWatchdog: Sendable {
    let limits: BuildLimits
    let cgroup: BuildCgroup?
    /// The folders measured for `limits.diskBytes`.
    let folders: [String]
    /// A uid of the build's own, whose temporary files count too.
    let uid: uid_t?

    init(limits: BuildLimits, cgroup: BuildCgroup?, folders: [String], uid: uid_t?) {
        self.limits = limits
        self.cgroup = cgroup
        self.folders = folders
        self.uid = uid
    }

    /// Whether there is anything to watch.
    var isActive: Bool { (limits.memoryBytes != nil && cgroup != nil) || limits.diskBytes != nil }

    /// The memory check alone: a sentence starting with "it used" when the build went over.
    func checkMemory() -> String? {
        guard let memoryBytes = limits.memoryBytes, let cgroup, cgroup.oomKills() > 0 else { return nil }
        return "it used more than \(ByteCount.format(memoryBytes)) of memory (the limit of each build, "
            + "--build-max-memory); make it use less (for Node.js, NODE_OPTIONS=--max-old-space-size=…) "
            + "or raise the limit"
    }

    /// The disk check alone (a walk of the build's folders).
    func checkDisk() -> String? {
        guard let diskBytes = limits.diskBytes else { return nil }
        let used = DiskUsage.measure(folders, temporaryFilesOf: uid)
        guard used > Int64(diskBytes) else { return nil }
        return "it used more than \(ByteCount.format(diskBytes)) of disk (\(ByteCount.format(Int(used))) in its "
            + "checkout, HOME and temporary files; the limit of each build, --build-max-disk); "
            + "make it write less or raise the limit"
    }

    /// Both checks. Blocking.
    func check() -> String? { checkMemory() ?? checkDisk() }

    /// Checks until `done` is set, on a thread of its own; tells `stop` when a limit is passed.
    func start(stopping stop: StopSwitch, until done: StopSwitch) {
        guard isActive else { return }
        let thread = Thread { [self] in
            let clock = ContinuousClock()
            var nextDisk = clock.now + .seconds(1)
            while !done.isCancelled {
                if let exceeded = checkMemory() {
                    stop.stop(limit: exceeded)
                    return
                }
                if clock.now >= nextDisk {
                    let started = clock.now
                    if let exceeded = checkDisk() {
                        stop.stop(limit: exceeded)
                        return
                    }
                    let took = clock.now - started
                    nextDisk = clock.now + max(.seconds(1), took * 9)
                }
                usleep(250_000)
            }
        }
        thread.name = "canopy-build-watchdog"
        // Deep folders are walked by recursion.
        thread.stackSize = 16 << 20
        thread.start()
    }
}
