import Foundation

/// Canopy's durable state: builds, deployments, branch environments, which deployment each one
/// serves, traffic policies, rollouts and the audit log.
///
/// Callers hold an `any StateStore`; `SQLiteStateStore` is the embedded implementation, and a
/// shared one (PostgreSQL, for several machines) can be added without touching them. Every write
/// must be durable before it returns: an activation is on disk before the edge is told about it.
public protocol StateStore: TrafficStateStore, BuildStateStore {
    /// Records a deployment and, unless its branch is pinned, activates it, in one transaction.
    /// Returns true when it was activated.
    @discardableResult
    func recordDeployment(_ d: DeploymentRecord, activate: Bool, reason: String) async throws -> Bool
    /// Marks deployments removed by retention.
    func markDeploymentsRemoved(_ ids: [String], at date: Date) async throws
    /// Creates the environment when new, or revives a deleted one; records its newest commit.
    func upsertEnvironment(site: String, branch: String, kind: String, headCommit: String?) async throws
    /// The branch is gone: it stops serving (its deployments stay until retention removes them).
    func markEnvironmentDeleted(site: String, branch: String, at date: Date) async throws
    /// The newest audit entries first.
    func auditLog(limit: Int) async throws -> [AuditEntry]
}

/// The build history.
public protocol BuildStateStore: Sendable {
    /// Records a new build.
    func insertBuild(_ build: BuildRecord) async throws
    /// Moves a build to `status`, stamping start or finish times as the status implies.
    func updateBuild(
        _ id: String, status: BuildStatus, deploymentID: String?, error: String?, at date: Date)
        async throws
    /// One build, or nil.
    func build(id: String) async throws -> BuildRecord?
    /// The newest builds first, of one site or branch or all.
    func builds(site: String?, branch: String?, limit: Int) async throws -> [BuildRecord]
    /// The newest build of a commit of a branch, or nil.
    func latestBuild(site: String, branch: String, commit: String) async throws -> BuildRecord?
    /// Marks builds a stopped server left queued or running as cancelled; returns them.
    func abandonUnfinishedBuilds(at date: Date) async throws -> [BuildRecord]
    /// Builds still queued or running: what a server that stopped left.
    func unfinishedBuilds() async throws -> [BuildRecord]
    /// How many builds of this commit a restart interrupted.
    func interruptedBuilds(site: String, branch: String, commit: String) async throws -> Int
}

extension BuildStateStore {
    /// Moves a build to `status` now.
    public func updateBuild(
        _ id: String, status: BuildStatus, deploymentID: String? = nil, error: String? = nil
    ) async throws {
        try await updateBuild(id, status: status, deploymentID: deploymentID, error: error, at: Date())
    }

    /// The newest builds of every site first.
    public func builds(limit: Int) async throws -> [BuildRecord] {
        try await builds(site: nil, branch: nil, limit: limit)
    }

    /// Marks builds a stopped server left unfinished as cancelled, now.
    public func abandonUnfinishedBuilds() async throws -> [BuildRecord] {
        try await abandonUnfinishedBuilds(at: Date())
    }
}

extension StateStore {
    public func markDeploymentsRemoved(_ ids: [String]) async throws {
        try await markDeploymentsRemoved(ids, at: Date())
    }

    public func markEnvironmentDeleted(site: String, branch: String) async throws {
        try await markEnvironmentDeleted(site: site, branch: branch, at: Date())
    }

    public func auditLog() async throws -> [AuditEntry] {
        try await auditLog(limit: 100)
    }
}
