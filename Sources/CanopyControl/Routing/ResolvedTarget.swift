/// A target resolved down to a deployment.
struct ResolvedTarget: Hashable, Sendable {
    var label: String
    var weight: Double
    var deployment: String
    /// The site whose branch (or deployment) this is, when a policy points the hostname at
    /// another site's (a cross-site swap); nil: the hostname's own site.
    var site: String? = nil
}
