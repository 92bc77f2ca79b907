import ArgumentParser
import CanopyAdminAPI
import CanopyClient
import Foundation

/// GET a path, print JSON with `--json`, else decode and render a table.
func readCommand<T: Decodable>(
    _ options: AdminOptions, _ output: OutputOptions, _ path: String, as type: T.Type, render: (T) -> String
) throws {
    let response = try options.client.request("GET", path)
    try CLI.check(response)
    if output.json {
        print(response.text, terminator: "")
    } else {
        print(render(try CLI.decode(T.self, response)))
    }
}

struct Sites: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the sites with their repository, branches and hostnames.")
    @OptionGroup var adminOptions: AdminOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try readCommand(adminOptions, output, "/api/v1/sites", as: [SiteSummary].self) { sites in
            var table = TextTable(["SITE", "REPOSITORY", "BRANCHES", "HOSTNAMES", "ROLLOUTS"])
            for s in sites {
                table.add([
                    s.name, s.repository, String(s.branches.count), String(s.hostnames.count),
                    String(s.rollouts.filter { $0.status.isActive }.count),
                ])
            }
            return sites.isEmpty ? "No sites: add a Sites/<site>.yml file." : table.render()
        }
    }
}

struct Branches: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List a site's branches with what each serves.")
    @Argument var site: String
    @OptionGroup var adminOptions: AdminOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try readCommand(
            adminOptions, output, "/api/v1/sites/\(encodePath(site))/branches", as: [EnvironmentRecord].self
        ) { envs in
            var table = TextTable(["BRANCH", "KIND", "HEAD", "DEPLOYMENT", "PINNED"])
            for e in envs {
                table.add([
                    e.branch, e.kind, String(e.headCommit?.prefix(7) ?? "-"), e.activeDeployment ?? "-",
                    e.pinned ? "yes" : "no",
                ])
            }
            return envs.isEmpty ? "No branches yet." : table.render()
        }
    }
}

struct Deployments: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List a branch's deployments, newest first.")
    @Argument var site: String
    @Argument var branch: String
    @OptionGroup var adminOptions: AdminOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let path = "/api/v1/sites/\(encodePath(site))/branches/\(encodePath(branch))/deployments"
        try readCommand(adminOptions, output, path, as: [DeploymentRecord].self) { list in
            var table = TextTable(["DEPLOYMENT", "COMMIT", "FILES", "BYTES", "CREATED", "MESSAGE"])
            for d in list {
                table.add([
                    d.id, String(d.commit.prefix(7)), String(d.fileCount), String(d.totalBytes),
                    ageText(since: d.createdAt) + " ago",
                    String(d.commitMessage.split(separator: "\n").first ?? ""),
                ])
            }
            return list.isEmpty ? "No deployments yet." : table.render()
        }
    }
}

struct Builds: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List recent builds, newest first.")
    @Option(help: "Only this site.") var site: String?
    @Option(help: "Only this branch.") var branch: String?
    @Option(help: "How many.") var limit = 30
    @OptionGroup var adminOptions: AdminOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        var path = "/api/v1/builds?limit=\(limit)"
        if let site { path += "&site=\(encodePath(site))" }
        if let branch { path += "&branch=\(encodePath(branch))" }
        try readCommand(adminOptions, output, path, as: [BuildRecord].self) { builds in
            var table = TextTable(["BUILD", "SITE", "BRANCH", "COMMIT", "STATUS", "AGE", "DEPLOYMENT", "ERROR"])
            for b in builds {
                table.add([
                    b.id, b.site, b.branch, String(b.commit.prefix(7)), b.status.rawValue,
                    ageText(since: b.queuedAt),
                    b.deploymentID ?? "-", String(b.error?.split(separator: "\n").first ?? ""),
                ])
            }
            return builds.isEmpty ? "No builds yet." : table.render()
        }
    }
}

struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a build's log; --follow streams it while the build runs.")
    @Argument var build: String
    @Flag(name: .shortAndLong, help: "Keep printing until the build ends.") var follow = false
    @OptionGroup var adminOptions: AdminOptions

    func run() async throws {
        let path = "/api/v1/builds/\(encodePath(build))/log" + (follow ? "?follow=1" : "")
        var errorBody = Data()
        var status = 0
        var terminal = TerminalText()  // a build's escape sequences are shown, not obeyed
        status = try adminOptions.client.stream("GET", path) { chunk in
            if status == 0 || status < 300 {
                FileHandle.standardOutput.write(terminal.escape(chunk))
            } else {
                errorBody.append(chunk)
            }
        }
        FileHandle.standardOutput.write(terminal.finish())
        if status >= 300 { try CLI.check(AdminClient.Response(status: status, body: errorBody)) }
    }
}
