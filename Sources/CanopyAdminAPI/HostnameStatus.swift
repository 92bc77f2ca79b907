import Foundation

/// One hostname as operators see it: what it serves and why.
public struct HostnameStatus: Sendable, Codable, Hashable {
    public var hostname: String
    public var site: String
    /// The branch environment whose hostname this is (from the Sites file).
    public var branch: String
    public var kind: String
    /// True when a split or swap (not the Sites file alone) decides its traffic.
    public var hasPolicy: Bool
    public var targets: [Target]

    public init(hostname: String, site: String, branch: String, kind: String, hasPolicy: Bool, targets: [Target]) {
        self.hostname = hostname
        self.site = site
        self.branch = branch
        self.kind = kind
        self.hasPolicy = hasPolicy
        self.targets = targets
    }

    public struct Target: Sendable, Codable, Hashable {
        /// What `X-Canopy-Target` names to force this target: a branch name or a deployment id.
        public var label: String
        /// Share of traffic, 0…1.
        public var weight: Double
        public var deployment: String
        public var commit: String

        public init(label: String, weight: Double, deployment: String, commit: String) {
            self.label = label
            self.weight = weight
            self.deployment = deployment
            self.commit = commit
        }
    }
}
