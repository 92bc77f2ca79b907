import Foundation

/// Everything `canopy status` shows: hostnames, environments, builds, refused files
/// (`GET /api/v1/status`).
public struct StatusReport: Sendable, Codable {
    public var hostnames: [HostnameStatus]
    public var environments: [EnvironmentRecord]
    public var recentBuilds: [BuildRecord]
    public var queued: Int
    public var running: [String]
    public var sites: [String]
    /// Sites files refused, with why.
    public var problems: [String: String]

    public init(
        hostnames: [HostnameStatus], environments: [EnvironmentRecord], recentBuilds: [BuildRecord], queued: Int,
        running: [String], sites: [String], problems: [String: String]
    ) {
        self.hostnames = hostnames
        self.environments = environments
        self.recentBuilds = recentBuilds
        self.queued = queued
        self.running = running
        self.sites = sites
        self.problems = problems
    }
}

/// A site with its branches and hostnames, for `canopy sites` and the dashboard (`GET /api/v1/sites`).
public struct SiteSummary: Sendable, Codable {
    public var name: String
    public var repository: String
    public var file: String
    public var branches: [EnvironmentRecord]
    public var hostnames: [HostnameStatus]
    public var rollouts: [RolloutRecord]

    public init(
        name: String, repository: String, file: String, branches: [EnvironmentRecord], hostnames: [HostnameStatus],
        rollouts: [RolloutRecord]
    ) {
        self.name = name
        self.repository = repository
        self.file = file
        self.branches = branches
        self.hostnames = hostnames
        self.rollouts = rollouts
    }
}
