import CanopyAdminAPI
import Foundation

/// A branch of a site: the unit that builds and deploys.
public struct EnvironmentKey: Sendable, Hashable, CustomStringConvertible {
    public var site: String
    public var branch: String

    public init(site: String, branch: String) {
        self.site = site
        self.branch = branch
    }

    public var description: String { "\(site)/\(branch)" }
}

/// A branch head as the watcher reports it.
public struct BranchHead: Sendable, Hashable {
    public var branch: String
    public var commit: String
    public var message: String
    public var time: Date
    /// For `refs/pull/<n>/head` and `refs/merge-requests/<n>/head`: the number.
    public var pullRequest: Int?

    public init(branch: String, commit: String, message: String, time: Date, pullRequest: Int? = nil) {
        self.branch = branch
        self.commit = commit
        self.message = message
        self.time = time
        self.pullRequest = pullRequest
    }
}

/// Something operators may want to watch live.
public enum ControlEvent: Sendable {
    case buildQueued(BuildRecord)
    case buildStarted(BuildRecord)
    case buildLog(buildID: String, line: String)
    case buildFinished(BuildRecord)
    case deploymentActivated(site: String, branch: String, deployment: String)
    case branchDeleted(site: String, branch: String)
    case routesPublished(hostnames: Int)
    case trafficChanged(hostname: String)
    case rolloutChanged(RolloutRecord)
}
