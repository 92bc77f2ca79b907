import CanopyAdminAPI
import Foundation

/// The dashboard's parts of a site's card, and the builds card.
extension Dashboard {
    /// Hostnames and their traffic, with rollback, clear-split and swap forms.
    static func hostnameTable(_ site: SiteSummary, edgeBase: (scheme: String, port: Int)) -> String {
        var html = ""
        html += "<table><thead><tr><th>Hostname</th><th>Branch</th><th>Traffic</th><th></th></tr></thead><tbody>"
        for host in site.hostnames {
            let port = edgeBase.port == 80 ? "" : ":\(edgeBase.port)"
            let url = "\(edgeBase.scheme)://\(host.hostname)\(port)/"
            html +=
                "<tr data-hostname=\"\(escape(host.hostname))\"><td><a href=\"\(escape(url))\">\(escape(host.hostname))</a></td>"
            html +=
                "<td>\(escape(host.branch))\(host.hasPolicy ? " <span class=\"badge policy\">policy</span>" : "")</td><td>"
            html += "<div class=\"bar\">"
            for (i, t) in host.targets.enumerated() {
                let pct = Int((t.weight * 100).rounded())
                html +=
                    "<span class=\"seg c\(i % 4)\" style=\"width:\(max(pct, 1))%\" title=\"\(escape(t.label)) \(pct)% — \(escape(t.deployment)) @ \(escape(String(t.commit.prefix(7))))\">\(escape(t.label)) \(pct)%</span>"
            }
            html += "</div><div class=\"muted small\">"
            html += host.targets.map {
                "\(escape($0.deployment)) @ <code class=\"commit\">\(escape(String($0.commit.prefix(7))))</code>"
            }.joined(separator: " · ")
            html += "</div></td><td class=\"actions\">"
            html += form(
                "/ui/rollback", ["target": host.hostname], "Rollback",
                confirm: "Roll \(host.hostname) back to its previous deployment?")
            if host.hasPolicy {
                html += form(
                    "/ui/split-clear", ["hostname": host.hostname], "Clear split",
                    confirm: "Send all of \(host.hostname) to its own branch?")
            }
            html += "</td></tr>"
        }
        html += "</tbody></table>"
        if site.hostnames.count >= 2 {
            html +=
                "<form class=\"inline\" method=\"post\" action=\"/ui/swap\" data-confirm=\"Swap these two hostnames?\">Swap "
            html +=
                select("a", site.hostnames.map(\.hostname)) + " with "
                + select("b", site.hostnames.map(\.hostname), selected: 1)
            html += " <button>Swap</button></form>"
        }
        return html
    }

    /// Branches: head, what each serves, rebuild and pin forms.
    static func branchTable(_ site: SiteSummary) -> String {
        var html = ""
        html +=
            "<h3>Branches</h3><table><thead><tr><th>Branch</th><th>Kind</th><th>Head</th><th>Serving</th><th></th></tr></thead><tbody>"
        for env in site.branches {
            html +=
                "<tr data-branch=\"\(escape(env.branch))\"><td>\(escape(env.branch))</td><td>\(escape(env.kind))</td>"
            html += "<td><code class=\"commit\">\(escape(String(env.headCommit?.prefix(7) ?? "-")))</code></td>"
            html +=
                "<td>\(escape(env.activeDeployment ?? "—"))\(env.pinned ? " <span class=\"badge pinned\">pinned</span>" : "")</td><td class=\"actions\">"
            html += form("/ui/build", ["site": site.name, "branch": env.branch], "Rebuild", confirm: nil)
            html +=
                env.pinned
                ? form(
                    "/ui/unpin", ["target": "\(site.name)/\(env.branch)"], "Unpin",
                    confirm:
                        "Unpin \(site.name)/\(env.branch)? Its newest deployment goes live now, replacing \(env.activeDeployment ?? "what it serves"), and new builds go live again."
                )
                : form("/ui/pin", ["target": "\(site.name)/\(env.branch)"], "Pin", confirm: nil)
            html += "</td></tr>"
        }
        html += "</tbody></table>"
        return html
    }

    /// Rollouts active or changed in the last hour, with their actions.
    static func rolloutTable(_ site: SiteSummary) -> String {
        var html = ""
        let rollouts = site.rollouts.filter { $0.status.isActive || Date().timeIntervalSince($0.updatedAt) < 3600 }
        if !rollouts.isEmpty {
            html += "<h3>Rollouts</h3><table><tbody>"
            for r in rollouts {
                html += "<tr class=\"rollout\"><td>\(escape(r.branch))</td><td>\(escape(r.strategy))</td>"
                html +=
                    "<td><div class=\"bar\"><span class=\"seg c1\" style=\"width:\(max(r.percent, 1))%\">\(r.percent)%</span></div></td>"
                html +=
                    "<td>\(statusBadge(r.status.rawValue)) \(escape(r.message ?? ""))</td><td class=\"actions\">"
                if r.status.isActive {
                    let target = "\(r.site)/\(r.branch)"
                    html += form(
                        "/ui/rollout", ["target": target, "action": "promote"], "Promote",
                        confirm: "Send all traffic to \(r.toDeployment)?")
                    html += form(
                        "/ui/rollout", ["target": target, "action": r.status == .paused ? "resume" : "pause"],
                        r.status == .paused ? "Resume" : "Pause", confirm: nil)
                    html += form(
                        "/ui/rollout", ["target": target, "action": "abort"], "Abort", confirm: "Abort the rollout?"
                    )
                }
                html += "</td></tr>"
            }
            html += "</tbody></table>"
        }
        return html
    }

    /// The builds, newest first, as given.
    static func buildsCard(_ builds: [BuildRecord]) -> String {
        var html = ""
        html +=
            "<section class=\"card\" id=\"builds\"><h2>Builds</h2><table><thead><tr><th>Build</th><th>Site</th><th>Branch</th><th>Commit</th><th>Status</th><th>Age</th></tr></thead><tbody>"
        for b in builds {
            html +=
                "<tr class=\"build\" data-build=\"\(escape(b.id))\" data-status=\"\(escape(b.status.rawValue))\"><td><a href=\"/builds/\(escape(b.id))\">\(escape(b.id))</a></td>"
            html +=
                "<td>\(escape(b.site))</td><td>\(escape(b.branch))</td><td><code class=\"commit\">\(escape(String(b.commit.prefix(7))))</code></td>"
            html += "<td>\(statusBadge(b.status.rawValue))</td><td>\(ageText(since: b.queuedAt))</td></tr>"
        }
        html += "</tbody></table></section>"
        return html
    }
}
