import CanopyAdminAPI
import Foundation

extension CertificateStatus {
    /// The `canopy certs` table.
    public static func render(_ statuses: [CertificateStatus]) -> String {
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
