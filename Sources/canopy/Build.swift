import ArgumentParser
import CanopyAdminAPI
import CanopyClient
import Foundation

struct Build: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build locally (DIR --out DIR), or ask the server to build a branch again (SITE BRANCH).",
        discussion: """
            canopy build DIR [--branch NAME] [--app-root DIR] --out DIR
                runs a folder's amplify.yml build and tests as the server would, with no server.
            canopy build SITE BRANCH
                queues a new build of the branch's current commit on the running server.
            """)

    @Argument(help: "DIR (with --out), or SITE BRANCH.")
    var arguments: [String]

    @Option(help: "Branch name the local build sees (AWS_BRANCH; default: the branch checked out in DIR, else local).")
    var branch: String?

    @Option(help: "Which amplify.yml application to build (monorepo).")
    var appRoot: String?

    @Option(help: "Where a local build's artifacts go (must not exist or be empty).")
    var out: String?

    @Option(parsing: .upToNextOption, help: "Environment variables NAME=VALUE for a local build.")
    var env: [String] = []

    @OptionGroup var adminOptions: AdminOptions

    func run() async throws {
        if let out {
            guard arguments.count == 1 else {
                throw ValidationError("a local build takes one DIR: canopy build DIR --out DIR")
            }
            var environment: [String: String] = [:]
            for pair in env {
                guard let eq = pair.firstIndex(of: "=") else {
                    throw ValidationError("--env takes NAME=VALUE, not '\(pair)'")
                }
                environment[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
            }
            let ok = await LocalBuild.run(
                directory: arguments[0], branch: branch, appRoot: appRoot, out: out, environment: environment)
            if !ok { throw ExitCode(1) }
            return
        }
        guard arguments.count == 2 else {
            throw ValidationError(
                "use `canopy build DIR --out DIR` (local) or `canopy build SITE BRANCH` (on the server)")
        }
        let response = try adminOptions.client.send(
            "POST", "/api/v1/builds", BuildTrigger(site: arguments[0], branch: arguments[1]))
        let id = try CLI.decode(BuildRecord.self, response).id
        print("Queued build \(id) of \(arguments[0])/\(arguments[1]); follow it with: canopy logs \(id) --follow")
    }
}
