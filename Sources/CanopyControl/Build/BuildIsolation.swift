import CanopyBuild
import Foundation
import Logging

/// `canopy serve --build-user NAME`: checks the account and the uids builds get, and makes the
/// folder their checkouts live in.
enum BuildIsolation {
    /// The uids builds run as (one per running build, see `BuildIdentities`), or nil to run them as
    /// the server (with a warning when that is root). The data folder (state, every site's
    /// deployments, tokens) is made the server's alone.
    static func prepare(_ config: CanopyConfiguration, data: DataFolder, logger: Logger) throws -> BuildIdentities? {
        guard let name = config.buildUser else {
            if getuid() == 0 {
                logger.warning(
                    "builds run as root, like the server; `canopy serve --build-user NAME` runs them as an unprivileged user"
                )
            }
            return nil
        }
        guard getuid() == 0 else {
            throw CanopyError("--build-user \(name) needs the server to run as root (it runs as uid \(getuid()))")
        }
        let user: BuildUser
        do {
            user = try BuildUser.lookup(name)
        } catch {
            throw CanopyError("--build-user: \(error)")
        }
        guard BuildUser.setpriv != nil else {
            throw CanopyError("--build-user needs setpriv (package util-linux), which is not installed")
        }
        let uids = config.buildUIDs
        if let taken = BuildIdentities.collision(in: uids) {
            throw CanopyError(
                "--build-uids \(uids.lowerBound)-\(uids.upperBound) includes \(taken); builds need ids no account "
                    + "or group has: choose another range")
        }
        guard Int(uids.upperBound - uids.lowerBound) + 1 >= config.buildConcurrency else {
            throw CanopyError(
                "--build-uids \(uids.lowerBound)-\(uids.upperBound) has fewer uids than builds may run at once "
                    + "(\(config.buildConcurrency)); widen the range or lower --builds")
        }
        guard chmod(data.root, 0o700) == 0 else {
            throw CanopyError("cannot make the data folder \(data.root) private: \(String(cString: strerror(errno)))")
        }
        closeToOthers(config.sitesDirectory, what: "the Sites folder (passwords, webhook secrets)", logger: logger)
        let root = (config.buildWorkRoot as NSString).standardizingPath
        if mkdir(root, 0o711) != 0 && errno != EEXIST {
            throw CanopyError("cannot create the build folder \(root): \(String(cString: strerror(errno)))")
        }
        // Another account must not be able to prepare this folder (or a link in its place) for us.
        var info = stat()
        guard lstat(root, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == 0 else {
            throw CanopyError("\(root) must be a folder owned by root, not a link; remove it or choose another")
        }
        chmod(root, 0o711)
        if let blocked = user.firstFolderBlocking(root) {
            throw CanopyError("the build user \(name) cannot enter \(blocked), on the way to the build folder \(root)")
        }
        logger.info(
            "builds run as uids \(uids.lowerBound)-\(uids.upperBound) (one per build, for \(name)); their checkouts go in \(root)"
        )
        if let problem = BuildIdentities.claim(uids) { throw CanopyError("--build-uids: \(problem)") }
        // Other sites' sources: the mirrors and caches (in the data folder, already private).
        for folder in [data.mirrors, data.caches] { chmod(folder, 0o700) }
        let cgroups = limitMechanism(config, logger: logger)
        return BuildIdentities(account: user, uids: uids, cgroups: cgroups)
    }

    /// Takes others' access away from a folder builds must not read (its owner and group keep
    /// theirs): builds run as uids of their own, so "others" is exactly them.
    static func closeToOthers(_ path: String, what: String, logger: Logger) {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { return }
        let mode = info.st_mode & 0o7777
        guard mode & 0o007 != 0 else { return }
        if chmod(path, mode & ~0o007) == 0 {
            logger.notice(
                "\(what) \(path) was open to every account (mode \(String(mode, radix: 8))): builds could read it; it is now \(String(mode & ~0o007, radix: 8))"
            )
        } else {
            logger.warning(
                "\(what) \(path) is open to every account and builds can read it: chmod o-rwx \(path) (\(String(cString: strerror(errno))))"
            )
        }
    }
}
