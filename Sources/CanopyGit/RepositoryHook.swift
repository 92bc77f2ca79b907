import Foundation

/// Git hooks that Canopy installs in the repositories it creates.
public enum RepositoryHook {
    /// Writes an executable `hooks/post-receive` into a bare repository. `notifyCommand` is shell that
    /// tells the running server about the push at once; the hook never fails the push, and gives up
    /// within a few seconds when the server is down (polling is the safety net).
    public static func installPostReceive(in repository: String, notifyCommand: String) throws {
        let hooks = repository + "/hooks"
        try FileManager.default.createDirectory(atPath: hooks, withIntermediateDirectories: true)
        let script = """
            #!/usr/bin/env bash
            # Installed by `canopy repo init`: tells the Canopy server about this push at once.
            # It never fails the push; if the server is down, its polling picks the push up later.
            cat >/dev/null
            (
            \(notifyCommand)
            ) || true
            exit 0

            """
        let path = hooks + "/post-receive"
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data(script.utf8), attributes: [.posixPermissions: 0o755])
        else {
            throw GitError(
                operation: "install post-receive hook", repository: repository, code: -1,
                message: "cannot write \(path)")
        }
    }
}
