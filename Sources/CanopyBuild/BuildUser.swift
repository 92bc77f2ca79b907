import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The unprivileged account a root server runs builds as (`canopy serve --build-user NAME`).
///
/// A build's commands then cannot write the data folder, read the admin token or another site's
/// files, or change the system; they own only their checkout and their HOME. The commands start
/// through `setpriv` with the user's uid and gid, no supplementary groups, and `no_new_privs` (so
/// setuid programs such as sudo cannot give root back).
public struct BuildUser: Sendable, Equatable {
    public let name: String
    public let uid: uid_t
    public let gid: gid_t
    /// The uid belongs to one build alone (taken from `BuildIdentities`): every process of the uid
    /// is that build's, so the runner ends them all after each stage and limits their number.
    public let exclusive: Bool

    public init(name: String, uid: uid_t, gid: gid_t, exclusive: Bool = false) {
        self.name = name
        self.uid = uid
        self.gid = gid
        self.exclusive = exclusive
    }

    /// Looks the account up in the system's user database.
    public static func lookup(_ name: String) throws -> BuildUser {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        let status = getpwnam_r(name, &entry, &buffer, buffer.count, &result)
        guard status == 0, result != nil else {
            throw BuildFailure(
                message: "no user `\(name)` on this machine; create one (for example "
                    + "`useradd --system --no-create-home --shell /usr/sbin/nologin \(name)`) or pick another")
        }
        guard entry.pw_uid != 0 else {
            throw BuildFailure(message: "`\(name)` is root (uid 0); builds need an unprivileged user")
        }
        return BuildUser(name: name, uid: entry.pw_uid, gid: entry.pw_gid)
    }

    /// `setpriv`, from util-linux (an essential package on Debian); nil when missing.
    public static let setpriv = ["/usr/bin/setpriv", "/bin/setpriv", "/usr/sbin/setpriv"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// The arguments that run `argv` as this user.
    func wrap(_ argv: [String]) -> [String]? {
        guard let setpriv = Self.setpriv else { return nil }
        return [setpriv, "--reuid=\(uid)", "--regid=\(gid)", "--clear-groups", "--no-new-privs", "--"] + argv
    }

    /// Gives the user a file or a whole folder, never following symbolic links (a link the build
    /// made must not hand it a file elsewhere). Returns the paths that could not be changed, each
    /// with its error.
    func own(_ path: String) -> [String] {
        var failed: [String] = []
        if lchown(path, uid, gid) != 0 { failed.append("\(path) (\(String(cString: strerror(errno))))") }
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { return failed }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
            failed += own(path + "/" + name)
        }
        return failed
    }
}

extension BuildUser {
    /// The first folder on the way to `path` (itself included) that this user may not enter, if any.
    public func firstFolderBlocking(_ path: String) -> String? {
        var current = ""
        for part in ("/" + path).split(separator: "/") {
            current += "/" + part
            var info = stat()
            guard stat(current, &info) == 0 else { return current }
            let mode = info.st_mode
            let enters =
                info.st_uid == uid
                ? mode & S_IXUSR != 0 : info.st_gid == gid ? mode & S_IXGRP != 0 : mode & S_IXOTH != 0
            if !enters { return current + String(format: " (mode %o)", mode & 0o7777) }
        }
        return nil
    }
}
