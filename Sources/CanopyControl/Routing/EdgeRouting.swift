import CanopyEdge
import CanopyTLS

/// What the control plane needs of the edge: publish a routing table, read a deployment's traffic
/// counters, and probe a deployment (health gates) without a network hop. `EdgeServer` is the real
/// one; tests pass a fake that records the tables.
package protocol EdgeRouting: Sendable {
    /// The body cache every served deployment's files come from.
    var bodyCache: BodyCache { get }
    /// Replaces the table the edge routes by, in one atomic swap.
    func update(_ table: RoutingTable)
    /// Requests and error answers of one deployment since the edge started.
    func stats(deployment: String) -> DeploymentTrafficStats
    /// The status `path` answers with from `deployment`, as a visitor would get it.
    func probe(deployment: ServedDeployment, path: String) -> Int
    /// Replaces the certificates the TLS listener chooses from by SNI, in one atomic swap.
    func update(certificates: CertificateSet)
}

extension EdgeServer: EdgeRouting {}
