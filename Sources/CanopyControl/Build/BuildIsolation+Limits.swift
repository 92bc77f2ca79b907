import CanopyBuild
import Foundation
import Logging

extension BuildIsolation {
    /// The cgroups builds get, when the server can make them (root, or a delegated subtree, with
    /// the memory controller); nil limits memory per process instead. Logs once which mechanism
    /// is in force, and the disk limit. Blocking.
    static func limitMechanism(_ config: CanopyConfiguration, logger: Logger) -> BuildCgroups? {
        let limits = config.buildLimits
        var cgroups: BuildCgroups?
        if limits.memoryBytes != nil || limits.processes != nil {
            switch BuildCgroups.prepare(name: BuildIdentities.cgroupName(config.buildUIDs)) {
            case .success(let prepared):
                cgroups = prepared
                let left = prepared.removeLeftovers()
                if left > 0 { logger.notice("removed \(left) cgroups left by builds a stopped server ran") }
            case .failure(let problem):
                let memory = limits.memoryBytes.map { ByteCount.format($0) + " per process (RLIMIT_DATA)" } ?? "none"
                logger.notice(
                    "builds get no cgroup (\(problem)): memory limit \(memory), processes by RLIMIT_NPROC alone")
            }
        }
        if let cgroups {
            let memory = limits.memoryBytes.map { ByteCount.format($0) + " per build" } ?? "none"
            let processes = limits.processes.map { "\($0) per build" } ?? "none"
            logger.info(
                "builds run in cgroups (\(cgroups.description)): memory limit \(memory), processes \(processes)")
        }
        if let disk = limits.diskBytes {
            logger.info(
                "build disk limit: \(ByteCount.format(disk)) per build (checkout, HOME and temporary files, measured while it runs)"
            )
        }
        return cgroups
    }

    /// The local repositories the Sites files name, closed to other accounts (their owner and
    /// group keep their access, pushes go on): builds run as uids of their own, so a build of one
    /// site could otherwise clone another site's repository. A build gets its checkout from the
    /// server, never by reading the repository. Blocking.
    static func closeRepositories(_ paths: [String], logger: Logger) {
        for path in paths {
            closeToOthers(path, what: "the repository", logger: logger)
        }
    }
}
