import Foundation

/// Where a build is in its life.
public enum BuildStatus: String, Sendable, Codable, Hashable, CaseIterable {
    case queued
    case running
    case succeeded
    case failed
    /// A newer commit of the same branch arrived first; this one was never deployed.
    case superseded
    case cancelled
    case timedOut = "timed-out"
    /// The server stopped (crashed, was killed or restarted) while it ran. Its commit is built once
    /// more; a commit whose build is interrupted twice is not retried again (push again or run
    /// `canopy build SITE BRANCH`), so a build that brings the server down cannot do it forever.
    case interrupted

    /// True once the build can no longer change.
    public var isFinished: Bool { self != .queued && self != .running }
}

/// One build of one commit of one branch.
public struct BuildRecord: Sendable, Codable, Hashable {
    public var id: String
    public var site: String
    public var branch: String
    public var commit: String
    public var commitMessage: String
    public var status: BuildStatus
    public var queuedAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var deploymentID: String?
    /// Why it failed, as a person should read it (file:line and what to do).
    public var error: String?
    public var logPath: String

    public init(
        id: String, site: String, branch: String, commit: String, commitMessage: String, status: BuildStatus,
        queuedAt: Date, startedAt: Date? = nil, finishedAt: Date? = nil, deploymentID: String? = nil,
        error: String? = nil, logPath: String
    ) {
        self.id = id
        self.site = site
        self.branch = branch
        self.commit = commit
        self.commitMessage = commitMessage
        self.status = status
        self.queuedAt = queuedAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.deploymentID = deploymentID
        self.error = error
        self.logPath = logPath
    }
}

/// One immutable deployment, as recorded in the state database (its files are in the manifest).
public struct DeploymentRecord: Sendable, Codable, Hashable {
    public var id: String
    public var site: String
    public var branch: String
    public var commit: String
    public var commitMessage: String
    public var commitTime: Date
    public var createdAt: Date
    public var buildID: String
    public var fileCount: Int
    public var totalBytes: Int64
    /// Set when retention removed it; its manifest and unshared blobs are gone.
    public var removedAt: Date?

    public init(
        id: String, site: String, branch: String, commit: String, commitMessage: String, commitTime: Date,
        createdAt: Date, buildID: String, fileCount: Int, totalBytes: Int64, removedAt: Date? = nil
    ) {
        self.id = id
        self.site = site
        self.branch = branch
        self.commit = commit
        self.commitMessage = commitMessage
        self.commitTime = commitTime
        self.createdAt = createdAt
        self.buildID = buildID
        self.fileCount = fileCount
        self.totalBytes = totalBytes
        self.removedAt = removedAt
    }
}

/// A connected branch of a site and the deployment it serves.
public struct EnvironmentRecord: Sendable, Codable, Hashable {
    public var site: String
    public var branch: String
    /// `branch`, `preview` or `pullRequest`.
    public var kind: String
    /// The newest commit seen on the branch.
    public var headCommit: String?
    /// The deployment its hostnames serve; nil until a build passes.
    public var activeDeployment: String?
    /// New builds do not go live while pinned.
    public var pinned: Bool
    /// Set when the branch was deleted; it no longer serves.
    public var deletedAt: Date?
    public var updatedAt: Date

    public init(
        site: String, branch: String, kind: String, headCommit: String? = nil, activeDeployment: String? = nil,
        pinned: Bool = false, deletedAt: Date? = nil, updatedAt: Date
    ) {
        self.site = site
        self.branch = branch
        self.kind = kind
        self.headCommit = headCommit
        self.activeDeployment = activeDeployment
        self.pinned = pinned
        self.deletedAt = deletedAt
        self.updatedAt = updatedAt
    }
}
