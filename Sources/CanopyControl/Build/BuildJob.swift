import CanopySpec
import Foundation

/// A commit of a branch that should be built.
struct BuildJob: Sendable, Equatable {
    var id: String
    var key: EnvironmentKey
    var kind: BranchEnvironmentConfig.Kind
    var commit: String
    var commitMessage: String
    var commitTime: Date
    var queuedAt: Date
}

extension BuildJob {
    /// For a pull-request environment (`pr-12`): its number.
    var pullRequestNumber: Int? {
        guard kind == .pullRequest, key.branch.hasPrefix("pr-") else { return nil }
        return Int(key.branch.dropFirst(3))
    }
}
