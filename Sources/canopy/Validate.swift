import ArgumentParser
import CanopyControl

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Check an amplify.yml, a Sites file, a rule file (redirects.json, customHttp.yml, _redirects, _headers, "
            + "netlify.toml) or a canopy-rules-test.yml; a folder: each of those it holds. Proxy rules are listed "
            + "with their upstreams.")

    @Argument(help: "Files or folders to check.")
    var files: [String]

    @Option(help: "For amplify.yml with several applications: the appRoot to check.")
    var appRoot: String?

    func run() async throws {
        var failed = false
        for file in files {
            let result = SpecValidation.validate(path: file, appRoot: appRoot)
            print(result.message)
            if !result.ok { failed = true }
        }
        if failed { throw ExitCode(1) }
    }
}
