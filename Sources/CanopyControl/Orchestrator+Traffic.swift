import CanopySpec
import CanopyStore
import Foundation
import Logging

/// A traffic action refused, with what to do instead.
public struct TrafficError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public var isNotFound: Bool

    init(_ description: String, notFound: Bool = false) {
        self.description = description
        self.isNotFound = notFound
    }
}

extension Orchestrator {
    // MARK: Resolving names

    /// The route entry (owner environment and current targets) of a hostname.
    func entry(forHostname hostname: String) async throws -> RouteEntry {
        let name = hostname.lowercased()
        guard let entry = try await routePlan().first(where: { $0.hostname == name }) else {
            throw TrafficError(
                "no site serves the hostname \(hostname); `canopy status` lists the hostnames", notFound: true)
        }
        return entry
    }

    /// `site/branch`, or a hostname (its owning environment).
    func environmentKey(for name: String) async throws -> EnvironmentKey {
        if let slash = name.firstIndex(of: "/"), catalog.sites[String(name[..<slash])] != nil {
            let key = EnvironmentKey(site: String(name[..<slash]), branch: String(name[name.index(after: slash)...]))
            guard try await state.environment(site: key.site, branch: key.branch) != nil else {
                throw TrafficError("site \(key.site) has no branch \(key.branch) that Canopy has seen", notFound: true)
            }
            return key
        }
        let entry = try await entry(forHostname: name)
        return EnvironmentKey(site: entry.site, branch: entry.branch)
    }

    func describe(_ targets: [ResolvedTarget]) -> String {
        targets.map { "\($0.label)=\(Int(($0.weight * 100).rounded()))%→\($0.deployment)" }.joined(separator: " ")
    }

    // MARK: Split

    /// Weighted blue/green for one hostname. Each target is a branch of the hostname's site (it follows
    /// that branch's newest deployment) or a deployment id (pinned).
    func split(hostname: String, weights: [(String, Double)], actor: String) async throws -> [HostnameStatus.Target] {
        let entry = try await entry(forHostname: hostname)
        guard !weights.isEmpty, weights.allSatisfy({ $0.1 >= 0 }), weights.contains(where: { $0.1 > 0 }) else {
            throw TrafficError(
                "give targets as NAME=WEIGHT with weights ≥ 0, at least one above 0 (e.g. main=90 release=10)")
        }
        var targets: [PolicyTarget] = []
        for (name, weight) in weights {
            if let env = try await state.environment(site: entry.site, branch: name), env.deletedAt == nil {
                guard env.activeDeployment != nil else {
                    throw TrafficError(
                        "branch \(name) of \(entry.site) has no deployment yet: push it and wait for its build")
                }
                targets.append(PolicyTarget(kind: .branch, site: entry.site, ref: name, weight: weight))
            } else if let deployment = try await state.deployment(id: name), deployment.removedAt == nil {
                targets.append(PolicyTarget(kind: .deployment, site: deployment.site, ref: name, weight: weight))
            } else {
                throw TrafficError(
                    "\(name) is neither a branch of \(entry.site) nor a deployment id (see `canopy deployments \(entry.site) BRANCH`)"
                )
            }
        }
        try await state.setHostPolicies(
            [(entry.hostname, entry.site, targets)],
            audit: AuditEntry(
                actor: actor, action: "split", target: entry.hostname, before: describe(entry.targets),
                after: weights.map { "\($0.0)=\($0.1)" }.joined(separator: " ")))
        try await publishRoutes()
        emit(.trafficChanged(hostname: entry.hostname))
        return hostnames.first { $0.hostname == entry.hostname }?.targets ?? []
    }

    /// Removes a hostname's split or swap: it serves its own branch again.
    func clearPolicy(hostname: String, actor: String) async throws {
        let entry = try await entry(forHostname: hostname)
        try await state.setHostPolicies(
            [(entry.hostname, entry.site, nil)],
            audit: AuditEntry(
                actor: actor, action: "split-clear", target: entry.hostname, before: describe(entry.targets), after: nil
            ))
        try await publishRoutes()
        emit(.trafficChanged(hostname: entry.hostname))
    }

    // MARK: Swap

    /// Exchanges what two hostnames serve in one transaction (Beanstalk's "swap environment URLs",
    /// without DNS). Each side is a hostname, or `site/branch` for all of that branch's hostnames.
    /// Swapping again swaps back.
    func swap(_ a: String, _ b: String, actor: String) async throws {
        let plan = try await routePlan()
        func side(_ name: String) async throws -> [RouteEntry] {
            if let slash = name.firstIndex(of: "/"), catalog.sites[String(name[..<slash])] != nil {
                let site = String(name[..<slash])
                let branch = String(name[name.index(after: slash)...])
                let hosts = plan.filter { $0.site == site && $0.branch == branch }
                guard !hosts.isEmpty else { throw TrafficError("\(name) serves no hostname", notFound: true) }
                return hosts
            }
            guard let entry = plan.first(where: { $0.hostname == name.lowercased() }) else {
                throw TrafficError("no site serves the hostname \(name)", notFound: true)
            }
            return [entry]
        }
        let left = try await side(a)
        let right = try await side(b)
        guard Set(left.map(\.hostname)).isDisjoint(with: right.map(\.hostname)) else {
            throw TrafficError("a swap needs two different hostnames")
        }
        // The policy each side gets: the other side's current targets, as pinned deployments or branches.
        func policy(from entries: [RouteEntry]) async throws -> [PolicyTarget] {
            guard let first = entries.first else { return [] }
            var targets: [PolicyTarget] = []
            for target in first.targets {
                if let env = try await state.environment(site: first.site, branch: target.label), env.deletedAt == nil {
                    targets.append(
                        PolicyTarget(kind: .branch, site: first.site, ref: target.label, weight: target.weight))
                } else {
                    targets.append(
                        PolicyTarget(kind: .deployment, site: first.site, ref: target.deployment, weight: target.weight)
                    )
                }
            }
            return targets
        }
        let toLeft = try await policy(from: right)
        let toRight = try await policy(from: left)
        // A hostname swapped back to exactly its own branch needs no policy at all.
        func normalised(_ entry: RouteEntry, _ targets: [PolicyTarget]) -> [PolicyTarget]? {
            targets.count == 1 && targets[0].kind == .branch && targets[0].site == entry.site
                && targets[0].ref == entry.branch
                ? nil : targets
        }
        var changes: [(hostname: String, site: String, targets: [PolicyTarget]?)] = []
        for entry in left { changes.append((entry.hostname, entry.site, normalised(entry, toLeft))) }
        for entry in right { changes.append((entry.hostname, entry.site, normalised(entry, toRight))) }
        try await state.setHostPolicies(
            changes,
            audit: AuditEntry(
                actor: actor, action: "swap", target: "\(a) <-> \(b)",
                before: "\(a): \(describe(left.first?.targets ?? [])); \(b): \(describe(right.first?.targets ?? []))",
                after: "\(a): \(describe(right.first?.targets ?? [])); \(b): \(describe(left.first?.targets ?? []))"))
        try await publishRoutes()
        for change in changes { emit(.trafficChanged(hostname: change.hostname)) }
    }

    // MARK: Rollback and pinning

    /// Points a hostname's branch back at an earlier deployment (the previous one by default) and pins
    /// it, so that the next push does not undo the rollback until `unpin`. A pointer move: no rebuild.
    func rollback(_ name: String, to deployment: String?, actor: String) async throws -> String {
        let key = try await environmentKey(for: name)
        guard let env = try await state.environment(site: key.site, branch: key.branch) else {
            throw TrafficError("\(name): no such branch", notFound: true)
        }
        let target: String
        if let deployment {
            guard let record = try await state.deployment(id: deployment), record.removedAt == nil else {
                throw TrafficError("no live deployment \(deployment) (retention may have removed it)", notFound: true)
            }
            guard record.site == key.site else {
                throw TrafficError("deployment \(deployment) belongs to site \(record.site)")
            }
            target = deployment
        } else {
            let history = try await state.activationHistory(site: key.site, branch: key.branch)
            let live = Set(try await state.deployments(site: key.site, branch: key.branch).map(\.id))
            guard let previous = history.first(where: { $0 != env.activeDeployment && live.contains($0) }) else {
                throw TrafficError("\(key) has no earlier deployment to roll back to")
            }
            target = previous
        }
        // A rollout in progress is abandoned: the rollback decides.
        if var rollout = try await state.rollout(site: key.site, branch: key.branch), rollout.status.isActive {
            rollout.status = .aborted
            rollout.nextStepAt = nil
            rollout.message = "aborted by a rollback to \(target)"
            try await state.saveRollout(rollout)
        }
        try await state.activate(site: key.site, branch: key.branch, deployment: target, reason: "rollback by \(actor)")
        try await state.setPinned(site: key.site, branch: key.branch, pinned: true)
        try await state.recordAudit(
            AuditEntry(
                actor: actor, action: "rollback", target: key.description, before: env.activeDeployment, after: target))
        try await publishRoutes()
        logger.notice(
            "rolled back to \(target); the branch is pinned until `canopy unpin`",
            metadata: ["site": "\(key.site)", "branch": "\(key.branch)"])
        emit(.deploymentActivated(site: key.site, branch: key.branch, deployment: target))
        return target
    }

    /// Stops (or resumes) a branch's new builds from going live; unpinning activates its newest deployment.
    func setPinned(_ name: String, pinned: Bool, actor: String) async throws -> EnvironmentRecord {
        let key = try await environmentKey(for: name)
        try await state.setPinned(site: key.site, branch: key.branch, pinned: pinned)
        if !pinned, let newest = try await state.deployments(site: key.site, branch: key.branch).first,
            try await state.environment(site: key.site, branch: key.branch)?.activeDeployment != newest.id
        {
            try await state.activate(
                site: key.site, branch: key.branch, deployment: newest.id, reason: "unpin by \(actor)")
            try await publishRoutes()
            emit(.deploymentActivated(site: key.site, branch: key.branch, deployment: newest.id))
        }
        try await state.recordAudit(
            AuditEntry(actor: actor, action: pinned ? "pin" : "unpin", target: key.description, before: nil, after: nil)
        )
        guard let env = try await state.environment(site: key.site, branch: key.branch) else {
            throw TrafficError("\(name): no such branch", notFound: true)
        }
        return env
    }
}
