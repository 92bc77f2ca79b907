import CanopyBuild
import CanopyGit
import CanopySpec
import Foundation
import Logging

/// `canopy build DIR --out DIR`: runs a folder's amplify.yml build and tests as the server would,
/// streaming the log to the terminal, and leaves the artifacts in the output folder.
public enum LocalBuild {
    /// `branch` nil: the branch checked out in DIR when it is a git work tree, else `local`.
    public static func run(
        directory: String, branch: String?, appRoot: String?, out: String, environment: [String: String]
    ) async -> Bool {
        let fm = FileManager.default
        let source = (directory as NSString).standardizingPath
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: source, isDirectory: &isDirectory), isDirectory.boolValue else {
            print("canopy build: \(directory) is not a folder (give the folder that holds amplify.yml, or the site)")
            return false
        }
        // A git work tree builds as the commit and branch checked out there (AWS_COMMIT_ID, AWS_BRANCH).
        let commit = GitRepository.headCommit(near: source) ?? String(repeating: "0", count: 40)
        let branch = branch ?? GitRepository.checkedOutBranch(near: source) ?? "local"
        let scratch = fm.temporaryDirectory.appendingPathComponent("canopy-build-\(UUID().uuidString)").path
        defer { try? fm.removeItem(atPath: scratch) }
        if let existing = try? fm.contentsOfDirectory(atPath: out), !existing.isEmpty {
            print("\(out) is not empty: pick a new folder for --out")
            return false
        }
        do {
            try? fm.removeItem(atPath: out)
            try fm.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            try fm.copyItem(atPath: source, toPath: scratch + "/src")
            try? fm.removeItem(atPath: scratch + "/src/.git")

            var plan = BuildPlan.repositoryRoot
            for name in ["amplify.yml", "amplify.yaml"] where fm.fileExists(atPath: scratch + "/src/" + name) {
                let text = try String(contentsOfFile: scratch + "/src/" + name, encoding: .utf8)
                plan = try AmplifySpec.parse(text, file: source + "/" + name, appRoot: appRoot)
                break
            }
            for warning in plan.warnings { print(warning.logLine) }
            // Unique among builds running at once: stray processes of a build are found by this id.
            let buildID = "local-\(Int(Date().timeIntervalSince1970))-\(getpid())"
            let request = BuildRequest(
                buildID: buildID, site: "local", branch: branch, commit: commit,
                sourceDirectory: scratch + "/src", plan: plan, environment: environment, secrets: [],
                cloneURL: source, timeout: .seconds(1800), cacheDirectory: nil, seedCacheDirectory: nil,
                logFile: scratch + "/build.log", artifactDirectory: out, testArtifactDirectory: nil)
            let result = await BuildRunner().run(request, logger: Logger(label: "canopy.build")) { line in
                print(line)
            }
            switch result.status {
            case .succeeded:
                // The runner's own count (files, not folders), as its log line says.
                print("Build succeeded: \(result.artifactCount) files, \(result.byteCount) bytes in \(out)")
                return true
            case .failed(let failure):
                print("Build failed: \(failure)")
            case .timedOut:
                print("Build timed out")
            case .cancelled:
                print("Build cancelled")
            }
        } catch {
            print("\(error)")
        }
        return false
    }
}
