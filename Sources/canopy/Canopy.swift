import ArgumentParser
import CanopyClient
import CanopyControl

/// `canopy`: argument parsing only; `serve` calls into CanopyControl, every other command into CanopyClient.
@main
struct CanopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "canopy",
        abstract: "A multi-branch static web host with preview environments: git push deploys.",
        version: Canopy.version,
        subcommands: [
            Serve.self, Status.self, Sites.self, Branches.self, Deployments.self, Builds.self, Logs.self, Build.self,
            Split.self, Swap.self, Rollback.self, Pin.self, Unpin.self, Rollout.self, Validate.self, Repo.self,
            Certs.self, Rules.self,
        ])
}

/// Where the admin API is and how to authenticate: shared by every command that talks to a server.
struct AdminOptions: ParsableArguments {
    @Option(help: "Admin API URL (default: CANOPY_ADMIN, the data folder's admin.address, or http://127.0.0.1:8081).")
    var admin: String?

    @Option(help: "Data folder whose admin.token (and admin.address) to use (or set CANOPY_TOKEN).")
    var data: String?

    var client: AdminClient { AdminClient.resolve(admin: admin, data: data) }
}

/// `--json` on read commands.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print JSON instead of a table.")
    var json = false
}
