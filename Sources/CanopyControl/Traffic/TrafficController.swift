import CanopySpec
import CanopyStore
import Foundation

/// Where a hostname's traffic goes, as operators change it: weighted splits, swaps between
/// hostnames, rollbacks and pins. Each operation is a pointer move in the store (with an audit
/// entry), never a copy or a rebuild; the caller publishes routes afterwards.
///
/// Names are resolved against a `RouteLookup` (what the route publisher last published, or a
/// `RoutePlan`), so the controller needs no edge and no Sites folder.
struct TrafficController: Sendable {
    let state: any TrafficStateStore

    // MARK: Resolving names

    /// The plan's entry of a hostname.
    static func entry(forHostname hostname: String, in plan: some RouteLookup) throws -> RouteEntry {
        guard let entry = plan.entry(forHostname: hostname) else {
            throw TrafficError(
                "no site serves the hostname \(hostname); `canopy status` lists the hostnames", notFound: true)
        }
        return entry
    }

    /// `site/branch` when `site` is a known site, else nil.
    static func siteBranch(_ name: String, sites: some Collection<String>) -> EnvironmentKey? {
        guard let slash = name.firstIndex(of: "/"), sites.contains(String(name[..<slash])) else { return nil }
        return EnvironmentKey(site: String(name[..<slash]), branch: String(name[name.index(after: slash)...]))
    }

    /// `site/branch` (a branch Canopy has seen), or a hostname (its owning environment).
    func environmentKey(
        for name: String, plan: some RouteLookup, sites: some Collection<String>
    ) async throws
        -> EnvironmentKey
    {
        if let key = Self.siteBranch(name, sites: sites) {
            guard try await state.environment(site: key.site, branch: key.branch) != nil else {
                throw TrafficError("site \(key.site) has no branch \(key.branch) that Canopy has seen", notFound: true)
            }
            return key
        }
        let entry = try Self.entry(forHostname: name, in: plan)
        return EnvironmentKey(site: entry.site, branch: entry.branch)
    }

    /// `main=90%→d1 release=10%→d2`, for the audit log.
    static func describe(_ targets: [ResolvedTarget]) -> String {
        targets.map {
            "\($0.site.map { $0 + "/" } ?? "")\($0.label)=\(Int(($0.weight * 100).rounded()))%→\($0.deployment)"
        }
        .joined(separator: " ")
    }

    // MARK: Split

    /// Weighted blue/green for one hostname. Each target is a branch of the hostname's site (it
    /// follows that branch's newest deployment) or a deployment id (pinned).
    func split(_ entry: RouteEntry, weights: [(String, Double)], actor: String) async throws {
        guard Self.weightsAreValid(weights.map(\.1)) else {
            throw TrafficError(
                "give targets as NAME=WEIGHT with weights ≥ 0, at least one above 0 (e.g. main=90 release=10)")
        }
        var targets: [PolicyTarget] = []
        for (name, weight) in weights {
            targets.append(try await policyTarget(name, weight: weight, site: entry.site))
        }
        try await state.setHostPolicies(
            [(entry.hostname, entry.site, targets)],
            audit: AuditEntry(
                actor: actor, action: "split", target: entry.hostname, before: Self.describe(entry.targets),
                after: weights.map { "\($0.0)=\($0.1)" }.joined(separator: " ")))
    }

    /// At least one weight, none negative, one above zero.
    static func weightsAreValid(_ weights: [Double]) -> Bool {
        !weights.isEmpty && weights.allSatisfy { $0 >= 0 } && weights.contains { $0 > 0 }
    }

    /// A split target: a live branch of `site` with a deployment, else a live deployment id.
    private func policyTarget(_ name: String, weight: Double, site: String) async throws -> PolicyTarget {
        if let env = try await state.environment(site: site, branch: name), env.deletedAt == nil {
            guard env.activeDeployment != nil else {
                throw TrafficError("branch \(name) of \(site) has no deployment yet: push it and wait for its build")
            }
            return PolicyTarget(kind: .branch, site: site, ref: name, weight: weight)
        }
        if let deployment = try await state.deployment(id: name), deployment.removedAt == nil {
            return PolicyTarget(kind: .deployment, site: deployment.site, ref: name, weight: weight)
        }
        throw TrafficError(
            "\(name) is neither a branch of \(site) nor a deployment id (see `canopy deployments \(site) BRANCH`)")
    }

    /// Removes a hostname's split or swap: it serves its own branch again.
    func clearPolicy(_ entry: RouteEntry, actor: String) async throws {
        try await state.setHostPolicies(
            [(entry.hostname, entry.site, nil)],
            audit: AuditEntry(
                actor: actor, action: "split-clear", target: entry.hostname, before: Self.describe(entry.targets),
                after: nil))
    }

    // MARK: Rollback and pinning

    /// The deployment a rollback goes to without `--to`: the most recently active one that is not
    /// active now and still live.
    static func rollbackTarget(active: String?, history: [String], live: Set<String>) -> String? {
        history.first { $0 != active && live.contains($0) }
    }

    /// Points a branch back at an earlier deployment (the previous one by default), abandons its
    /// rollout and pins it, so that the next push does not undo the rollback until unpinned.
    /// Returns the deployment now active.
    func rollback(_ key: EnvironmentKey, to deployment: String?, actor: String) async throws -> String {
        guard let env = try await state.environment(site: key.site, branch: key.branch) else {
            throw TrafficError("\(key): no such branch", notFound: true)
        }
        let target: String
        if let deployment {
            guard let record = try await state.deployment(id: deployment), record.removedAt == nil else {
                throw TrafficError("no live deployment \(deployment) (retention may have removed it)", notFound: true)
            }
            guard record.site == key.site else {
                throw TrafficError("deployment \(deployment) belongs to site \(record.site)")
            }
            // Another branch's build on this branch's hostnames would be a promote, not a rollback:
            // a preview's code going live on production without a word. Refused, with what to do instead.
            guard record.branch == key.branch else {
                throw TrafficError(
                    "deployment \(deployment) was built from branch \(record.branch), not \(key.branch): a rollback goes "
                        + "back to one of \(key.branch)'s own deployments (`canopy deployments \(key.site) \(key.branch)`); "
                        + "to send \(key.branch)'s visitors to another branch's build, use `canopy split` or `canopy swap`"
                )
            }
            target = deployment
        } else {
            let history = try await state.activationHistory(site: key.site, branch: key.branch)
            let live = Set(try await state.deployments(site: key.site, branch: key.branch).map(\.id))
            guard let previous = Self.rollbackTarget(active: env.activeDeployment, history: history, live: live) else {
                throw TrafficError("\(key) has no earlier deployment to roll back to")
            }
            target = previous
        }
        try await RolloutController(state: state).abandon(key, reason: "aborted by a rollback to \(target)")
        try await state.activate(site: key.site, branch: key.branch, deployment: target, reason: "rollback by \(actor)")
        try await state.setPinned(site: key.site, branch: key.branch, pinned: true)
        try await state.recordAudit(
            AuditEntry(
                actor: actor, action: "rollback", target: key.description, before: env.activeDeployment, after: target))
        return target
    }

    /// Pins or unpins a branch; unpinning activates its newest deployment. Returns the branch and
    /// the deployment unpinning activated, if any.
    func setPinned(
        _ key: EnvironmentKey, pinned: Bool, actor: String
    ) async throws -> (
        environment: EnvironmentRecord, activated: String?
    ) {
        try await state.setPinned(site: key.site, branch: key.branch, pinned: pinned)
        var activated: String?
        if !pinned, let newest = try await state.deployments(site: key.site, branch: key.branch).first,
            try await state.environment(site: key.site, branch: key.branch)?.activeDeployment != newest.id
        {
            try await state.activate(
                site: key.site, branch: key.branch, deployment: newest.id, reason: "unpin by \(actor)")
            activated = newest.id
        }
        try await state.recordAudit(
            AuditEntry(actor: actor, action: pinned ? "pin" : "unpin", target: key.description, before: nil, after: nil)
        )
        guard let env = try await state.environment(site: key.site, branch: key.branch) else {
            throw TrafficError("\(key): no such branch", notFound: true)
        }
        return (env, activated)
    }
}
