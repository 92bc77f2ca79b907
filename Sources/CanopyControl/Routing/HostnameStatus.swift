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

    public struct Target: Sendable, Codable, Hashable {
        /// What `X-Canopy-Target` names to force this target: a branch name or a deployment id.
        public var label: String
        /// Share of traffic, 0…1.
        public var weight: Double
        public var deployment: String
        public var commit: String
    }
}

/// A target resolved down to a deployment.
struct ResolvedTarget: Hashable, Sendable {
    var label: String
    var weight: Double
    var deployment: String
    /// The site whose branch (or deployment) this is, when a policy points the hostname at
    /// another site's (a cross-site swap); nil: the hostname's own site.
    var site: String? = nil
}
