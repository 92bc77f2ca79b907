import ArgumentParser
import CanopyControl

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Check an amplify.yml, a Sites file or a rule file (redirects.json, customHttp.yml, _redirects, _headers).")

    @Argument(help: "Files to check.")
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
