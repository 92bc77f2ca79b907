import ArgumentParser
import CanopyAdminAPI
import CanopyClient
import Foundation

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show every hostname with the branch, commit and deployment it serves, and recent builds.")

    @OptionGroup var adminOptions: AdminOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let response = try adminOptions.client.request("GET", "/api/v1/status")
        try CLI.check(response)
        if output.json {
            print(response.text, terminator: "")
            return
        }
        let report = try CLI.decode(StatusReport.self, response)
        print(StatusFormatter.render(report))
    }
}
