import ArgumentParser
import CanopyAdminAPI
import CanopyControl
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

enum CLI {
    /// Turns an error answer into a message and exit code 1 (2 for authentication problems).
    static func check(_ response: AdminClient.Response) throws {
        guard response.status >= 300 else { return }
        let message =
            (try? JSONDecoder().decode(ErrorBody.self, from: response.body))?.error ?? response.text
        if response.status == 401 {
            throw CLIError(message: "error: \(message)", code: 2)
        }
        throw CLIError(message: "error (\(response.status)): \(message)", code: 1)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ response: AdminClient.Response) throws -> T {
        try CanopyJSON.decoder().decode(T.self, from: response.body)
    }
}

/// A failure with a message for the person and an exit code.
struct CLIError: Error, CustomStringConvertible {
    var message: String
    var code: Int32
    var description: String { message }
}
