import CanopyGit
import Foundation

/// `canopy repo init PATH`: a bare repository whose post-receive hook tells the running server at once.
public enum RepositorySetup {
    public struct Created: Sendable {
        public var repository: String
        /// The branch to push: the one checked out where the command ran, else `main`.
        public var branch: String
        /// True when `branch` came from the work tree the command ran in.
        public var branchFromWorkTree: Bool
    }

    public static func initialize(path: String, dataDirectory: String) throws -> Created {
        let absolute = absolutePath(path)
        let data = DataFolder(absolutePath(dataDirectory))
        _ = try GitRepository.initBare(at: absolute)
        try RepositoryHook.installPostReceive(
            in: absolute, notifyCommand: notifyCommand(repository: absolute, data: data))
        let current = GitRepository.checkedOutBranch(near: FileManager.default.currentDirectoryPath)
        return Created(repository: absolute, branch: current ?? "main", branchFromWorkTree: current != nil)
    }

    /// The hook's body: read the admin address and the hook token from the data folder at push time,
    /// POST, and never fail or hold up the push when the server is down. The token never appears on
    /// a command line (`/proc/PID/cmdline` is readable by every user, builds included): `printf` is a
    /// bash builtin and curl reads the header from its standard input.
    static func notifyCommand(repository: String, data: DataFolder) -> String {
        let encoded =
            repository.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "/-._~")))
            ?? repository
        return """
            data=\(shellQuote(data.root))
            addr=$(cat "$data/admin.address" 2>/dev/null) || exit 0
            token=$(cat "$data/hook.token" 2>/dev/null) || exit 0
            printf 'Authorization: Bearer %s\\n' "$token" \\
              | curl -fsS -m 2 -X POST -H @- "$addr/api/v1/hooks/local?repo=\(encoded)" >/dev/null 2>&1 || true
            """
    }

    static func absolutePath(_ path: String) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        let full = expanded.hasPrefix("/") ? expanded : FileManager.default.currentDirectoryPath + "/" + expanded
        return (full as NSString).standardizingPath
    }

    static func shellQuote(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
