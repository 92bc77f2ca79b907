import Foundation

/// The state traffic operations and rollouts read and write: which deployment each branch serves,
/// hostname policies (splits, swaps), rollouts, pins and the audit log.
///
/// `SQLiteStateStore` implements it; a shared implementation (PostgreSQL) can be added without
/// touching the controllers that use it.
public protocol TrafficStateStore: Sendable {
    /// One branch environment (deleted ones included), or nil.
    func environment(site: String, branch: String) async throws -> EnvironmentRecord?
    /// Environments of one site (or all), deleted ones only when asked.
    func environments(site: String?, includeDeleted: Bool) async throws -> [EnvironmentRecord]
    /// One deployment by id (removed ones included), or nil.
    func deployment(id: String) async throws -> DeploymentRecord?
    /// A site's (or a branch's) deployments, newest first.
    func deployments(site: String, branch: String?, includeRemoved: Bool) async throws -> [DeploymentRecord]
    /// Every deployment not yet removed by retention.
    func liveDeployments() async throws -> [DeploymentRecord]
    /// The deployments a branch has served, most recent activation first.
    func activationHistory(site: String, branch: String) async throws -> [String]
    /// Points a branch at a deployment (recorded in its activation history).
    func activate(site: String, branch: String, deployment: String, reason: String) async throws
    /// Pins or unpins a branch: a pinned branch's new deployments are kept but not activated.
    func setPinned(site: String, branch: String, pinned: Bool) async throws

    /// Every hostname policy in force.
    func hostPolicies() async throws -> [HostPolicy]
    /// Sets (targets) or clears (nil) several hostnames' policies in one transaction, with one audit entry.
    func setHostPolicies(
        _ changes: [(hostname: String, site: String, targets: [PolicyTarget]?)], audit: AuditEntry
    ) async throws

    /// Rollouts, or only those still checking, running or paused.
    func rollouts(activeOnly: Bool) async throws -> [RolloutRecord]
    /// A branch's rollout (the newest), or nil.
    func rollout(site: String, branch: String) async throws -> RolloutRecord?
    /// Writes a rollout; on completion (when asked) its branch is activated in the same transaction.
    func saveRollout(_ r: RolloutRecord, activateOnCompletion: Bool) async throws

    /// Appends an audit entry.
    func recordAudit(_ entry: AuditEntry) async throws
}

extension TrafficStateStore {
    /// Live environments of every site.
    public func environments() async throws -> [EnvironmentRecord] {
        try await environments(site: nil, includeDeleted: false)
    }

    /// Live environments of one site.
    public func environments(site: String) async throws -> [EnvironmentRecord] {
        try await environments(site: site, includeDeleted: false)
    }

    /// Environments of every site, deleted ones too when asked.
    public func environments(includeDeleted: Bool) async throws -> [EnvironmentRecord] {
        try await environments(site: nil, includeDeleted: includeDeleted)
    }

    /// A branch's live deployments, newest first.
    public func deployments(site: String, branch: String?) async throws -> [DeploymentRecord] {
        try await deployments(site: site, branch: branch, includeRemoved: false)
    }

    /// Every rollout, active or not.
    public func rollouts() async throws -> [RolloutRecord] {
        try await rollouts(activeOnly: false)
    }

    /// Writes a rollout; a completed one activates its deployment in the same transaction.
    public func saveRollout(_ r: RolloutRecord) async throws {
        try await saveRollout(r, activateOnCompletion: true)
    }
}
