import CanopyEdge
import CanopySpec
import CanopyStore
import Foundation

extension Orchestrator {
    // MARK: Routing (the work is `RoutePublisher`'s)

    /// A deployment loaded for serving (see `RoutePublisher.deployment`).
    func servedDeployment(_ id: String, manifest: DeploymentManifest? = nil) async throws -> ServedDeployment {
        try await routes.deployment(id, sites: catalog.sites, manifest: manifest)
    }

    /// Builds the routing table from the state in force and hands it to the edge in one atomic swap.
    /// `changed`: the sites whose environments or deployments changed (nil: read everything again);
    /// host policies and rollouts are read at every publish.
    func publishRoutes(changed: Set<String>? = nil) async throws {
        let published = try await routes.publish(sites: catalog.sites, changed: changed)
        hostnameStatus = published.statuses
        // The certificates follow the hostnames' `tls:` and the Sites files: a push changes neither.
        if changed == nil || published.certificateSourcesChanged {
            await certificates.update(sources: await routes.certificateSources, sites: catalog.sites)
        }
        emit(.routesPublished(hostnames: published.statuses.count))
    }

    /// Every hostname with the deployments it serves and their weights, as last published: an
    /// operator action resolves its names here, reading nothing from the state store.
    func publishedRoutes() async -> PublishedRoutes {
        await routes.lookup
    }
}

extension BranchHead {
    /// `pr-12` → the pull-request form the Sites spec resolves.
    var asPullRequest: BranchHead {
        var copy = self
        if branch.hasPrefix("pr-"), let number = Int(branch.dropFirst(3)) { copy.pullRequest = number }
        return copy
    }
}
