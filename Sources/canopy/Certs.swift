import ArgumentParser
import CanopyAdminAPI
import CanopyControl
import Foundation

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

extension CertificateStatus {
    /// The `canopy certs` table.
    static func render(_ statuses: [CertificateStatus]) -> String {
        guard !statuses.isEmpty else { return "No hostnames are served." }
        var table = TextTable(["HOSTNAME", "SOURCE", "STATE", "NOT AFTER", "ISSUER", "NEXT ATTEMPT", "REASON"])
        let formatter = ISO8601DateFormatter()
        for s in statuses {
            table.add([
                s.hostname, s.source, s.state + (s.state == "failed" && s.serving ? " (previous serving)" : ""),
                s.notAfter.map { formatter.string(from: $0) } ?? "-", s.issuer ?? "-",
                s.nextAttempt.map { formatter.string(from: $0) } ?? "-", s.reason ?? "",
            ])
        }
        return table.render()
    }
}
