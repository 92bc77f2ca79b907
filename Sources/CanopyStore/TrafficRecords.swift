import Foundation

/// One target of a hostname's traffic policy.
public struct PolicyTarget: Sendable, Codable, Hashable {
    public enum Kind: String, Sendable, Codable, Hashable {
        /// A branch environment: follows that branch's active deployment.
        case branch
        /// One deployment, pinned by id.
        case deployment
    }

    public var kind: Kind
    /// The site the branch or deployment belongs to (a swap can point a hostname at another site).
    public var site: String
    /// The branch name or the deployment id.
    public var ref: String
    /// Relative weight (≥ 0); weights are normalised when routed.
    public var weight: Double

    public init(kind: Kind, site: String, ref: String, weight: Double) {
        self.kind = kind
        self.site = site
        self.ref = ref
        self.weight = weight
    }
}

/// A hostname's traffic policy when it is not simply "its branch's active deployment".
public struct HostPolicy: Sendable, Codable, Hashable {
    public var hostname: String
    public var site: String
    public var targets: [PolicyTarget]
    public var updatedAt: Date

    public init(hostname: String, site: String, targets: [PolicyTarget], updatedAt: Date = Date()) {
        self.hostname = hostname
        self.site = site
        self.targets = targets
        self.updatedAt = updatedAt
    }
}

/// A progressive rollout of a new deployment over a branch's hostnames.
public struct RolloutRecord: Sendable, Codable, Hashable {
    public enum Status: String, Sendable, Codable, Hashable {
        /// Health paths are being checked; no traffic yet.
        case checking
        case running
        case paused
        /// All traffic moved; the new deployment is the branch's active one.
        case completed
        /// Stopped by an operator; the old deployment serves.
        case aborted
        /// Stopped by a failed health gate or error rate; the old deployment serves.
        case rolledBack = "rolled-back"

        public var isActive: Bool { self == .checking || self == .running || self == .paused }
    }

    public var site: String
    public var branch: String
    /// What served before (nil when the branch had nothing live).
    public var fromDeployment: String?
    public var toDeployment: String
    /// The strategy as written (`canary 10% 300s`).
    public var strategy: String
    /// Share of traffic (0…100) the new deployment has now.
    public var percent: Int
    public var status: Status
    public var startedAt: Date
    /// When the next step is due (nil while paused or finished).
    public var nextStepAt: Date?
    /// Why it ended or paused, as a person reads it.
    public var message: String?
    public var updatedAt: Date

    public init(
        site: String, branch: String, fromDeployment: String?, toDeployment: String, strategy: String, percent: Int,
        status: Status, startedAt: Date, nextStepAt: Date?, message: String? = nil, updatedAt: Date = Date()
    ) {
        self.site = site
        self.branch = branch
        self.fromDeployment = fromDeployment
        self.toDeployment = toDeployment
        self.strategy = strategy
        self.percent = percent
        self.status = status
        self.startedAt = startedAt
        self.nextStepAt = nextStepAt
        self.message = message
        self.updatedAt = updatedAt
    }
}

/// One recorded action: who did what to what, with the state before and after.
public struct AuditEntry: Sendable, Codable, Hashable {
    public var id: Int64
    public var at: Date
    public var actor: String
    public var action: String
    public var target: String
    public var before: String?
    public var after: String?

    public init(
        id: Int64 = 0, at: Date = Date(), actor: String, action: String, target: String, before: String?, after: String?
    ) {
        self.id = id
        self.at = at
        self.actor = actor
        self.action = action
        self.target = target
        self.before = before
        self.after = after
    }
}
