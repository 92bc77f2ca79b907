import CanopyAdminAPI
import Foundation

/// `canopy status` as tables a person reads at a glance.
public enum StatusFormatter {
    public static func render(_ report: StatusReport) -> String {
        var out: [String] = []
        var hosts = TextTable(["HOSTNAME", "SITE", "BRANCH", "COMMIT", "DEPLOYMENT", "TRAFFIC"])
        for host in report.hostnames {
            let first = host.targets.first
            let traffic =
                host.targets.count == 1
                ? "100%"
                : host.targets.map { "\($0.label)=\(Int(($0.weight * 100).rounded()))%" }.joined(separator: " ")
            hosts.add([
                host.hostname, host.site, host.branch, String(first?.commit.prefix(7) ?? "-"), first?.deployment ?? "-",
                traffic,
            ])
        }
        out.append(report.hostnames.isEmpty ? "No hostname is serving yet." : hosts.render())

        var builds = TextTable(["BUILD", "SITE", "BRANCH", "COMMIT", "STATUS", "AGE"])
        for build in report.recentBuilds.prefix(10) {
            builds.add([
                build.id, build.site, build.branch, String(build.commit.prefix(7)), build.status.rawValue,
                ageText(since: build.queuedAt),
            ])
        }
        out.append("")
        out.append(report.recentBuilds.isEmpty ? "No builds yet." : builds.render())
        out.append("")
        out.append(
            "Queued builds: \(report.queued); running: \(report.running.isEmpty ? "none" : report.running.joined(separator: ", "))"
        )
        for (file, problem) in report.problems.sorted(by: { $0.key < $1.key }) {
            out.append("")
            out.append("Refused \(file):\n\(problem)")
        }
        return out.joined(separator: "\n")
    }
}
