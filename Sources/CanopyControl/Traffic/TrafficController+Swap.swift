import CanopyStore
import Foundation

extension TrafficController {
    // MARK: Swap

    /// One hostname's new policy (nil: none, it serves its own branch).
    typealias PolicyChange = (hostname: String, site: String, targets: [PolicyTarget]?)

    /// The hostnames of one side of a swap: a hostname, or `site/branch` for all of that branch's.
    static func swapSide(_ name: String, plan: some RouteLookup, sites: some Collection<String>) throws -> [RouteEntry]
    {
        if let key = siteBranch(name, sites: sites) {
            let hosts = plan.entries(site: key.site, branch: key.branch)
            guard !hosts.isEmpty else { throw TrafficError("\(name) serves no hostname", notFound: true) }
            return hosts
        }
        guard let entry = plan.entry(forHostname: name) else {
            throw TrafficError("no site serves the hostname \(name)", notFound: true)
        }
        return [entry]
    }

    /// What a swap writes, pure: each side gets the other side's current targets — a target that
    /// is a live branch (`isLiveBranch(site, label)`) as that branch, anything else as its
    /// deployment, pinned. A hostname that ends up serving exactly its own branch gets no policy,
    /// so swapping twice leaves no trace.
    static func swapChanges(
        left: [RouteEntry], right: [RouteEntry], isLiveBranch: (_ site: String, _ label: String) -> Bool
    ) throws -> [PolicyChange] {
        guard Set(left.map(\.hostname)).isDisjoint(with: right.map(\.hostname)) else {
            throw TrafficError("a swap needs two different hostnames")
        }
        func policy(from entries: [RouteEntry]) -> [PolicyTarget] {
            guard let first = entries.first else { return [] }
            return first.targets.map { target in
                // A target keeps the site it belongs to: after a cross-site swap that is the other
                // site, so that swapping again swaps back.
                let site = target.site ?? first.site
                return isLiveBranch(site, target.label)
                    ? PolicyTarget(kind: .branch, site: site, ref: target.label, weight: target.weight)
                    : PolicyTarget(kind: .deployment, site: site, ref: target.deployment, weight: target.weight)
            }
        }
        func normalised(_ entry: RouteEntry, _ targets: [PolicyTarget]) -> [PolicyTarget]? {
            let ownBranch =
                targets.count == 1 && targets[0].kind == .branch && targets[0].site == entry.site
                && targets[0].ref == entry.branch
            return ownBranch ? nil : targets
        }
        let toLeft = policy(from: right)
        let toRight = policy(from: left)
        return left.map { ($0.hostname, $0.site, normalised($0, toLeft)) }
            + right.map { ($0.hostname, $0.site, normalised($0, toRight)) }
    }

    /// Exchanges what two hostnames serve in one transaction (Beanstalk's "swap environment URLs",
    /// without DNS). Each side is a hostname, or `site/branch` for all of that branch's hostnames.
    /// Swapping again swaps back. Returns the hostnames changed.
    func swap(
        _ a: String, _ b: String, plan: some RouteLookup, sites: some Collection<String>, actor: String
    ) async throws
        -> [String]
    {
        let left = try Self.swapSide(a, plan: plan, sites: sites)
        let right = try Self.swapSide(b, plan: plan, sites: sites)
        var liveBranches = Set<EnvironmentKey>()
        for entry in left + right {
            for target in entry.targets {
                let site = target.site ?? entry.site
                if let env = try await state.environment(site: site, branch: target.label), env.deletedAt == nil {
                    liveBranches.insert(EnvironmentKey(site: site, branch: target.label))
                }
            }
        }
        let changes = try Self.swapChanges(left: left, right: right) {
            liveBranches.contains(EnvironmentKey(site: $0, branch: $1))
        }
        let leftNow = Self.describe(left.first?.targets ?? [])
        let rightNow = Self.describe(right.first?.targets ?? [])
        try await state.setHostPolicies(
            changes,
            audit: AuditEntry(
                actor: actor, action: "swap", target: "\(a) <-> \(b)", before: "\(a): \(leftNow); \(b): \(rightNow)",
                after: "\(a): \(rightNow); \(b): \(leftNow)"))
        return changes.map(\.hostname)
    }
}
