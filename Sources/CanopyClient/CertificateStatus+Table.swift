import CanopyAdminAPI
import CanopySpec
import Foundation

extension CertificateStatus {
    /// The `canopy certs` table.
    public static func render(_ statuses: [CertificateStatus]) -> String {
        guard !statuses.isEmpty else { return "No hostnames are served." }
        var table = TextTable(["HOSTNAME", "SOURCE", "STATE", "NOT AFTER", "ISSUER", "NEXT ATTEMPT", "REASON"])
        for s in statuses {
            table.add([
                s.hostname, s.source, s.state + (s.state == "failed" && s.serving ? " (previous serving)" : ""),
                s.notAfter.map(Timestamp.seconds(from:)) ?? "-", s.issuer ?? "-",
                s.nextAttempt.map(Timestamp.seconds(from:)) ?? "-", s.reason ?? "",
            ])
        }
        return table.render()
    }
}
