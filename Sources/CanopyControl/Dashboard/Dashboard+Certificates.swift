import CanopyAdminAPI
import CanopySpec
import Foundation

extension Dashboard {
    /// The certificates card: each hostname's source, state, expiry, issuer, next attempt and reason.
    static func certificates(_ statuses: [CertificateStatus]) -> String {
        guard !statuses.isEmpty else { return "" }
        var html =
            "<section class=\"card\" id=\"certificates\"><h2>Certificates</h2><table><thead><tr><th>Hostname</th><th>Source</th><th>State</th><th>Not after</th><th>Issuer</th><th>Next attempt</th><th>Reason</th></tr></thead><tbody>"
        for s in statuses {
            html +=
                "<tr class=\"certificate\" data-hostname=\"\(escape(s.hostname))\" data-state=\"\(escape(s.state))\">"
            html += "<td>\(escape(s.hostname))</td><td>\(escape(s.source))</td><td>\(statusBadge(s.state))</td>"
            html += "<td>\(escape(s.notAfter.map(Timestamp.seconds(from:)) ?? "-"))</td>"
            html += "<td>\(escape(s.issuer ?? "-"))</td>"
            html += "<td>\(escape(s.nextAttempt.map(Timestamp.seconds(from:)) ?? "-"))</td>"
            html += "<td>\(escape(s.reason ?? ""))</td></tr>"
        }
        return html + "</tbody></table></section>"
    }
}
