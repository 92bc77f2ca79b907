import CanopyEdge
import CanopySpec
import CanopyTLS

/// What the control plane needs of the edge: publish a routing table and read a deployment's
/// traffic counters. `EdgeServer` is the real one; tests pass a fake that records the tables.
/// (Probing a deployment, for health gates and rules tests, needs no edge: `RuleProbe` answers
/// in process, through the edge's own parser and responder.)
package protocol EdgeRouting: Sendable {
    /// The body cache every served deployment's files come from.
    var bodyCache: BodyCache { get }
    /// What the edge evaluates of rules (a Country condition needs its GeoIP database): builds,
    /// Sites files and deployments are read with it.
    var ruleCapabilities: RuleCapabilities { get }
    /// Replaces the table the edge routes by, in one atomic swap.
    func update(_ table: RoutingTable)
    /// Requests and error answers of one deployment since the edge started.
    func stats(deployment: String) -> DeploymentTrafficStats
    /// Replaces the certificates the TLS listener chooses from by SNI, in one atomic swap.
    func update(certificates: CertificateSet)
}

extension EdgeServer: EdgeRouting {}
