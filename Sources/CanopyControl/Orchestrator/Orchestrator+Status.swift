import CanopyAdminAPI
import CanopySpec
import CanopyStore
import Foundation

extension Orchestrator {
    func statusReport() async throws -> StatusReport {
        let snapshot = queue.snapshot
        return StatusReport(
            hostnames: hostnames, environments: try await state.environments(),
            recentBuilds: try await state.builds(limit: 20), queued: snapshot.queued, running: snapshot.running,
            sites: catalog.sites.keys.sorted(), problems: catalog.problems)
    }
}

extension Orchestrator {
    func siteSummaries() async throws -> [SiteSummary] {
        let environments = try await state.environments()
        let rollouts = try await state.rollouts()
        return catalog.sites.values.sorted { $0.name < $1.name }.map { site in
            SiteSummary(
                name: site.name, repository: site.repository, file: site.file,
                branches: environments.filter { $0.site == site.name },
                hostnames: hostnames.filter { $0.site == site.name },
                rollouts: rollouts.filter { $0.site == site.name })
        }
    }

    /// Builds a branch's current head again (an operator's "redeploy").
    func triggerBuild(site: String, branch: String, actor: String) async throws -> BuildRecord {
        guard let config = catalog.sites[site] else { throw TrafficError("no site \(site)", notFound: true) }
        guard let env = try await state.environment(site: site, branch: branch), env.deletedAt == nil,
            let commit = env.headCommit
        else { throw TrafficError("site \(site) has no branch \(branch) that Canopy has seen", notFound: true) }
        let head = BranchHead(branch: branch, commit: commit, message: "", time: Date())
        guard
            let envConfig = environmentConfig(site: config, head: env.kind == "pullRequest" ? head.asPullRequest : head)
        else {
            throw TrafficError("branch \(branch) is not connected in \(config.file)")
        }
        let previous = try await state.latestBuild(site: site, branch: branch, commit: commit)
        let job = BuildJob(
            id: Self.newBuildID(), key: EnvironmentKey(site: site, branch: branch), kind: envConfig.kind,
            commit: commit,
            commitMessage: previous?.commitMessage ?? "", commitTime: Date(), queuedAt: Date())
        await enqueue(job)
        try await state.recordAudit(
            AuditEntry(actor: actor, action: "build", target: "\(site)/\(branch)", before: nil, after: job.id))
        return BuildRecord(
            id: job.id, site: site, branch: branch, commit: commit, commitMessage: job.commitMessage, status: .queued,
            queuedAt: job.queuedAt, logPath: data.buildLog(job.id))
    }
}

extension ControlEvent {
    /// The event as one server-sent event (`event:` name and a JSON `data:` line).
    var serverSentEvent: String {
        let encoder = CanopyJSON.encoder(pretty: false)
        func encode<T: Encodable>(_ name: String, _ value: T) -> String {
            let json = (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            return "event: \(name)\ndata: \(json)\n\n"
        }
        switch self {
        case .buildQueued(let b): return encode("build", b)
        case .buildStarted(let b): return encode("build", b)
        case .buildFinished(let b): return encode("build", b)
        case .buildLog(let id, let line): return encode("log", ["build": id, "line": line])
        case .deploymentActivated(let site, let branch, let deployment):
            return encode("deployment", ["site": site, "branch": branch, "deployment": deployment])
        case .branchDeleted(let site, let branch): return encode("branch-deleted", ["site": site, "branch": branch])
        case .routesPublished(let count): return encode("routes", ["hostnames": count])
        case .trafficChanged(let hostname): return encode("traffic", ["hostname": hostname])
        case .rolloutChanged(let r): return encode("rollout", r)
        }
    }
}
