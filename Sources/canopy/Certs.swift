import ArgumentParser
import CanopyAdminAPI
import CanopyClient

struct Certs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show each hostname's certificate: source, state, expiry, issuer, next attempt, and why one failed.")

    @OptionGroup var adminOptions: AdminOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let response = try adminOptions.client.request("GET", "/api/v1/certs")
        try CLI.check(response)
        if output.json {
            print(response.text, terminator: "")
            return
        }
        print(CertificateStatus.render(try CLI.decode([CertificateStatus].self, response)))
    }
}
