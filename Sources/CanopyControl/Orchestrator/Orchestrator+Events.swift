import CanopyAdminAPI
import Foundation

extension Orchestrator {
    // MARK: Events for observers

    /// A stream of build, deployment and traffic events (for the admin API's server-sent events).
    func events() -> AsyncStream<ControlEvent> {
        let (stream, continuation) = AsyncStream<ControlEvent>.makeStream(bufferingPolicy: .bufferingNewest(256))
        let id = UUID()
        listeners[id] = continuation
        continuation.onTermination = { [weak self] _ in
            Task { await self?.removeListener(id) }
        }
        return stream
    }

    func removeListener(_ id: UUID) {
        listeners[id] = nil
    }

    func emit(_ event: ControlEvent) {
        for continuation in listeners.values {
            continuation.yield(event)
        }
        notify(event)
        BuildMetrics.record(event)
    }

    /// Sends the events a site's `notify:` URL wants.
    func notify(_ event: ControlEvent) {
        func url(_ site: String) -> String? { catalog.sites[site]?.notifyURL }
        switch event {
        case .buildStarted(let b), .buildFinished(let b):
            let name: String
            switch b.status {
            case .running: name = "build.started"
            case .succeeded: name = "build.succeeded"
            case .failed, .timedOut: name = "build.failed"
            default: return
            }
            notifier.send(
                to: url(b.site),
                .init(
                    event: name, site: b.site, branch: b.branch, commit: b.commit, build: b.id,
                    deployment: b.deploymentID,
                    status: b.status.rawValue, error: b.error, hostnames: nil, at: Date()))
        case .deploymentActivated(let site, let branch, let deployment):
            let hosts = hostnameStatus.values.filter { $0.site == site && $0.branch == branch }.map(\.hostname).sorted()
            notifier.send(
                to: url(site),
                .init(
                    event: "deployment.activated", site: site, branch: branch, commit: nil, build: nil,
                    deployment: deployment, status: nil, error: nil, hostnames: hosts, at: Date()))
        default:
            break
        }
    }
}
