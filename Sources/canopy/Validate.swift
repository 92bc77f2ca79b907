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

    @Option(
        help: ArgumentHelp(
            "Check as a server started with --geoip FILE would: Country conditions are accepted.",
            discussion: "Without it, a rule with a Country condition is an error at its line, as the build on a "
                + "server without a GeoIP database fails. The file is opened, as the server opens it."))
    var geoip: String?

    func run() async throws {
        let capabilities = try RuleCapabilities.opening(geoip: geoip)
        var failed = false
        for file in files {
            let result = SpecValidation.validate(path: file, appRoot: appRoot, capabilities: capabilities)
            print(result.message)
            if !result.ok { failed = true }
        }
        if failed { throw ExitCode(1) }
    }
}

extension RuleCapabilities {
    /// What a server started with `--geoip FILE` (nil: without it) evaluates; the file is opened as
    /// the server opens it, so a bad one is the same error.
    static func opening(geoip: String?) throws -> RuleCapabilities {
        guard let geoip else { return .basic }
        do {
            _ = try GeoIPDatabase(path: geoip)
        } catch {
            throw ValidationError("--geoip: \(error)")
        }
        return RuleCapabilities(geoIP: true)
    }
}
