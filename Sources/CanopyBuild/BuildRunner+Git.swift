import Foundation

extension BuildRunner {
    /// `git`, if installed.
    static let gitExecutable = ["/usr/bin/git", "/usr/local/bin/git", "/bin/git"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Gives the checkout a real `.git`, as Amplify's builds have: a shallow clone of the commit
    /// (fetched from `repository`) with the branch checked out and the index matching the work tree,
    /// so that `git rev-parse HEAD`, `git log -1` and Hugo's `enableGitInfo` work. Runs before the
    /// checkout is handed to the build user, with no user or system git configuration.
    /// Returns a problem to log as a warning (the build goes on without a `.git`).
    static func makeGitRepository(
        in checkout: String, from repository: String, branch: String, commit: String, cloneURL: String
    ) -> String? {
        guard let git = gitExecutable else {
            return "git is not installed on the server, so the checkout has no .git (install git to have one)"
        }
        var steps: [[String]] = [
            ["init", "-q"],
            ["fetch", "-q", "--depth=1", "--no-tags", repository, commit],
            ["update-ref", "refs/heads/" + branch, commit],
            ["symbolic-ref", "HEAD", "refs/heads/" + branch],
            ["reset", "-q"],
        ]
        if !cloneURL.isEmpty { steps.append(["remote", "add", "origin", cloneURL]) }
        for step in steps {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: git)
            process.arguments = ["-C", checkout] + step
            process.environment = [
                "PATH": BuildEnvironment.defaultPath, "HOME": "/nonexistent", "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_TERMINAL_PROMPT": "0", "LANG": "C.UTF-8",
            ]
            let errors = Pipe()
            process.standardOutput = FileHandle.nullDevice
            process.standardError = errors
            process.standardInput = FileHandle.nullDevice
            do { try process.run() } catch { return "cannot run git to make the checkout's .git: \(error)" }
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            if process.terminationStatus != 0 {
                try? FileManager.default.removeItem(atPath: checkout + "/.git")
                return "the checkout has no .git: `git \(step[0])` failed: "
                    + message.trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        return nil
    }
}
