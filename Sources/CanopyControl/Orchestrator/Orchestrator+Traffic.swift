import CanopyAdminAPI
import CanopySpec
import CanopyStore
import Foundation
import Logging

extension Orchestrator {
    // MARK: Traffic operations (their rules are `TrafficController`'s; here routes are published)

    /// `site/branch`, or a hostname (its owning environment).
    func environmentKey(for name: String) async throws -> EnvironmentKey {
        try await traffic.environmentKey(for: name, plan: await publishedRoutes(), sites: catalog.sites.keys)
    }

    /// Weighted blue/green for one hostname; returns what it serves now.
    func split(hostname: String, weights: [(String, Double)], actor: String) async throws -> [HostnameStatus.Target] {
        let entry = try TrafficController.entry(forHostname: hostname, in: await publishedRoutes())
        try await traffic.split(entry, weights: weights, actor: actor)
        try await publishRoutes(changed: [])  // (a host policy: read at every publish)
        emit(.trafficChanged(hostname: entry.hostname))
        return hostnameStatus[entry.hostname]?.targets ?? []
    }

    /// Removes a hostname's split or swap: it serves its own branch again.
    func clearPolicy(hostname: String, actor: String) async throws {
        let entry = try TrafficController.entry(forHostname: hostname, in: await publishedRoutes())
        try await traffic.clearPolicy(entry, actor: actor)
        try await publishRoutes(changed: [])
        emit(.trafficChanged(hostname: entry.hostname))
    }

    /// Exchanges what two hostnames (or two branches' hostname sets) serve, atomically.
    func swap(_ a: String, _ b: String, actor: String) async throws {
        let changed = try await traffic.swap(
            a, b, plan: await publishedRoutes(), sites: catalog.sites.keys, actor: actor)
        try await publishRoutes(changed: [])
        for hostname in changed { emit(.trafficChanged(hostname: hostname)) }
    }

    /// Points a hostname's branch back at an earlier deployment and pins it. A pointer move: no rebuild.
    func rollback(_ name: String, to deployment: String?, actor: String) async throws -> String {
        let key = try await environmentKey(for: name)
        let target = try await traffic.rollback(key, to: deployment, actor: actor)
        try await publishRoutes(changed: [key.site])
        logger.notice(
            "rolled back to \(target); the branch is pinned until `canopy unpin`",
            metadata: ["site": "\(key.site)", "branch": "\(key.branch)"])
        emit(.deploymentActivated(site: key.site, branch: key.branch, deployment: target))
        return target
    }

    /// Stops (or resumes) a branch's new builds from going live; unpinning activates its newest deployment.
    func setPinned(_ name: String, pinned: Bool, actor: String) async throws -> EnvironmentRecord {
        let key = try await environmentKey(for: name)
        let (env, activated) = try await traffic.setPinned(key, pinned: pinned, actor: actor)
        if let activated {
            try await publishRoutes(changed: [key.site])
            emit(.deploymentActivated(site: key.site, branch: key.branch, deployment: activated))
        }
        return env
    }
}
