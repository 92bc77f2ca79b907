import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The uids builds run as, one per running build (as systemd's `DynamicUser=` hands out a uid per
/// service): `canopy serve --build-user NAME --build-uids FIRST-LAST`. A build's uid and gid are the
/// same number, taken from the range and given to no other build while it runs, so a build cannot
/// read another's environment in `/proc/PID/environ` (the kernel lets only the same uid do that),
/// write into its checkout or HOME, or signal its processes; its number of processes is limited per
/// uid (`RLIMIT_NPROC`); and when it ends, every process of its uid is ended (`kill -1` as the uid).
/// The uids are handed out round-robin, the least recently used first, and what a uid left in the
/// shared temporary folders is removed before it is given again.
///
/// `@unchecked Sendable`: `next` and `inUse` are only touched while holding `lock`.
public final class BuildIdentities: @unchecked Sendable {
    /// The named account: only its name, for the log (`nobody+1500000003`).
    public let account: BuildUser
    public let uids: ClosedRange<uid_t>
    /// Where each build gets a cgroup of its own (memory and process limits for all its processes
    /// together); nil where the server cannot make one.
    public let cgroups: BuildCgroups?
    private let lock = NSLock()
    private var next: uid_t
    private var inUse: Set<uid_t> = []

    public init(account: BuildUser, uids: ClosedRange<uid_t>, cgroups: BuildCgroups? = nil) {
        self.account = account
        self.uids = uids
        self.cgroups = cgroups
        self.next = uids.lowerBound
    }

    /// The name of this range's folder of build cgroups: `canopy-builds-FIRST-LAST`.
    public static func cgroupName(_ uids: ClosedRange<uid_t>) -> String {
        "canopy-builds-\(uids.lowerBound)-\(uids.upperBound)"
    }

    /// A uid no running build has, or nil when all are taken.
    public func acquire() -> BuildUser? {
        lock.withLock {
            let count = UInt64(uids.upperBound - uids.lowerBound) + 1
            for _ in 0..<min(count, UInt64(inUse.count) + 1) {
                let uid = next
                next = next == uids.upperBound ? uids.lowerBound : next + 1
                if inUse.insert(uid).inserted {
                    return BuildUser(name: "\(account.name)+\(uid)", uid: uid, gid: gid_t(uid), exclusive: true)
                }
            }
            return nil
        }
    }

    /// Ends every process of the build's uid, removes its temporary files, and frees the uid.
    /// Blocking. Returns how many processes were still running.
    @discardableResult
    public func release(_ user: BuildUser) -> Int {
        let ended = user.endAllProcesses()
        user.removeTemporaryFiles()
        lock.withLock { _ = inUse.remove(user.uid) }
        return ended
    }

    /// At start: ends the processes of every uid in the range (a server that died left them
    /// running) and removes their temporary files. Blocking. Returns how many processes there were.
    public func endLeftovers() -> Int {
        let left = BuildUser.livingProcesses(uids: uids)
        for uid in Set(left.map(\.uid)) {
            let user = BuildUser(name: account.name, uid: uid, gid: gid_t(uid), exclusive: true)
            user.endAllProcesses()
            user.removeTemporaryFiles()
        }
        return left.count
    }

    /// Claims the range for this process: an exclusive `flock` on `/run/canopy/build-uids-FIRST-LAST.lock`
    /// (a folder only root may write), held until the process ends. Two servers with one range would
    /// end each other's builds (a uid's processes are all one build's). Returns a problem, or nil.
    public func claim(folder: String = "/run/canopy") -> String? {
        Self.claim(uids, folder: folder)
    }

    /// `claim()` before the identities exist.
    public static func claim(_ uids: ClosedRange<uid_t>, folder: String = "/run/canopy") -> String? {
        if mkdir(folder, 0o700) != 0 && errno != EEXIST {
            return "cannot create \(folder): \(String(cString: strerror(errno)))"
        }
        let path = folder + "/build-uids-\(uids.lowerBound)-\(uids.upperBound).lock"
        // Kept open (and locked) for the life of the process, on purpose.
        let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return "cannot open \(path): \(String(cString: strerror(errno)))" }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return
                "another canopy server runs builds as uids \(uids.lowerBound)-\(uids.upperBound) (\(path) is locked); "
                + "give each server its own --build-uids"
        }
        return nil
    }

    /// Parses `FIRST-LAST`; nil when malformed, reversed, or including root.
    public static func parseRange(_ text: String) -> ClosedRange<uid_t>? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let first = uid_t(parts[0]), let last = uid_t(parts[1]), first > 0, first <= last,
            last < uid_t.max
        else { return nil }
        return first...last
    }

    /// An account or group of the system's databases whose id is in `uids` (they would share files
    /// and signals with builds), as `name (id)`; nil when none.
    public static func collision(in uids: ClosedRange<uid_t>) -> String? {
        var found: String?
        setpwent()
        while found == nil, let entry = getpwent() {
            let name = String(cString: entry.pointee.pw_name)
            if uids.contains(entry.pointee.pw_uid) {
                found = "user \(name) (uid \(entry.pointee.pw_uid))"
            } else if uids.contains(entry.pointee.pw_gid) {
                found = "user \(name)'s group (gid \(entry.pointee.pw_gid))"
            }
        }
        endpwent()
        setgrent()
        while found == nil, let entry = getgrent() {
            if uids.contains(entry.pointee.gr_gid) {
                found = "group \(String(cString: entry.pointee.gr_name)) (gid \(entry.pointee.gr_gid))"
            }
        }
        endgrent()
        return found
    }
}
