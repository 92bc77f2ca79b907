import ArgumentParser
import CanopyControl

struct Rules: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with a site's redirect and header rules.", subcommands: [Test.self])

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run canopy-rules-test.yml against a folder, as a build does before a deployment goes live.",
            discussion: """
                DIR is the folder that is deployed (the build's artifacts), with its rule files
                (_redirects, _headers, customHttp.yml, redirects.json, netlify.toml). Each test's
                request is answered in process as the edge would answer it; a rewrite to an http(s)://
                URL (a proxy) is reported as not checked. Exits 1 when a test fails.
                """)

        @Argument(help: "The deployed folder (default: the current folder).")
        var directory = "."

        @Option(help: "The tests (default: DIR/canopy-rules-test.yml, else ./canopy-rules-test.yml).")
        var file: String?

        @Option(help: "The Host of tests that name none.")
        var host = "localhost"

        @Option(
            help: ArgumentHelp(
                "Load the rules as a server started with --geoip FILE does (Country conditions accepted).",
                discussion:
                    "No test's request comes from a country, so a rule with a Country condition applies to none."))
        var geoip: String?

        func run() async throws {
            let capabilities = try RuleCapabilities.opening(geoip: geoip)
            let passed = RulesTestRun.local(directory: directory, file: file, host: host, capabilities: capabilities)
            if !passed { throw ExitCode(1) }
        }
    }
}
