import ArgumentParser
import CanopyControl

struct Repo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage repositories that Canopy follows.", subcommands: [Init.self])

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a bare repository whose post-receive hook tells the running server at once.")

        @Argument(help: "Path of the bare repository to create.")
        var path: String

        @Option(help: "The server's data folder (the hook reads admin.address and admin.token from it at push time).")
        var data = ".canopy/data"

        func run() async throws {
            let created = try RepositorySetup.initialize(path: path, dataDirectory: data)
            print("Created \(created.repository)")
            let branch = created.branch
            print("Push to it with:  git remote add canopy \(created.repository) && git push canopy \(branch)")
            if created.branchFromWorkTree {
                print("(\(branch) is the branch checked out here; the Sites file's branches: map it to hostnames.)")
            }
        }
    }
}
