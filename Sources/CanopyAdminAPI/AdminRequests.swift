import Foundation

// The bodies clients send to the admin API (see openapi.yaml), and the small answers of its actions.

/// `POST /api/v1/hostnames/{hostname}/split`.
public struct SplitRequest: Sendable, Codable {
    public struct Target: Sendable, Codable {
        /// A branch of the hostname's site, or a deployment id.
        public var target: String
        /// Relative weight.
        public var weight: Double

        public init(target: String, weight: Double) {
            self.target = target
            self.weight = weight
        }
    }
    public var targets: [Target]

    public init(targets: [Target]) {
        self.targets = targets
    }
}

/// `POST /api/v1/swap`: two hostnames, or two `SITE/BRANCH`es.
public struct SwapRequest: Sendable, Codable {
    public var a: String
    public var b: String

    public init(a: String, b: String) {
        self.a = a
        self.b = b
    }
}

/// `POST /api/v1/rollback`, `/pin`, `/unpin`: a hostname or `SITE/BRANCH`; `to` for a rollback only.
public struct TargetRequest: Sendable, Codable {
    public var target: String
    public var to: String?

    public init(target: String, to: String? = nil) {
        self.target = target
        self.to = to
    }
}

/// `POST /api/v1/rollout`: `status`, `pause`, `resume`, `promote` or `abort`.
public struct RolloutRequest: Sendable, Codable {
    public static let actions = ["status", "pause", "resume", "promote", "abort"]

    public var target: String
    public var action: String

    public init(target: String, action: String) {
        self.target = target
        self.action = action
    }
}

/// `POST /api/v1/builds`: build a branch's current head again.
public struct BuildTrigger: Sendable, Codable {
    public var site: String
    public var branch: String

    public init(site: String, branch: String) {
        self.site = site
        self.branch = branch
    }
}

/// What a swap or rollback answers.
public struct ActionResult: Sendable, Codable {
    public var ok: Bool
    public var detail: String
    /// How long the action took inside the server.
    public var milliseconds: Double

    public init(ok: Bool, detail: String, milliseconds: Double) {
        self.ok = ok
        self.detail = detail
        self.milliseconds = milliseconds
    }
}

/// `DELETE /api/v1/hostnames/{hostname}/split`: the hostname whose split was removed.
public struct SplitCleared: Sendable, Codable {
    public var cleared: String

    public init(cleared: String) {
        self.cleared = cleared
    }
}

/// `POST /api/v1/hooks/local`: how many sites were scheduled for a scan.
public struct HookPoked: Sendable, Codable {
    public var poked: Int

    public init(poked: Int) {
        self.poked = poked
    }
}

/// Every error answer: `{"error": "…"}`.
public struct ErrorBody: Sendable, Codable {
    public var error: String

    public init(error: String) {
        self.error = error
    }
}
