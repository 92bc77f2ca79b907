import CanopyAdminAPI
import Foundation
import Logging

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Outgoing notifications: a site's `notify:` URL receives JSON for build started, succeeded and
/// failed, and for deployment activated (like Amplify's EventBridge events and Netlify's deploy
/// notifications). Delivery is in the background with a few retries; it never holds up a build.
actor Notifier {
    let logger: Logger
    let session: URLSession

    init(logger: Logger) {
        self.logger = logger
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 5
        session = URLSession(configuration: configuration)
    }

    /// The JSON body of a notification.
    struct Payload: Codable, Sendable {
        var event: String
        var site: String
        var branch: String
        var commit: String?
        var build: String?
        var deployment: String?
        var status: String?
        var error: String?
        var hostnames: [String]?
        var at: Date
    }

    nonisolated func send(to url: String?, _ payload: Payload) {
        guard let url, let target = URL(string: url) else { return }
        Task { await deliver(target, payload) }
    }

    private func deliver(_ url: URL, _ payload: Payload) async {
        let encoder = CanopyJSON.encoder(pretty: false)
        guard let body = try? encoder.encode(payload) else { return }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("canopy/\(Canopy.version)", forHTTPHeaderField: "User-Agent")
        request.setValue(payload.event, forHTTPHeaderField: "X-Canopy-Event")
        for attempt in 1...3 {
            do {
                let (_, response) = try await session.data(for: request)
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                if (200..<300).contains(status) { return }
                logger.warning(
                    "notification \(payload.event) to \(url.host ?? "?") answered \(status) (attempt \(attempt))",
                    metadata: ["site": "\(payload.site)"])
            } catch {
                logger.warning(
                    "notification \(payload.event) to \(url.host ?? "?") failed: \(error.localizedDescription) (attempt \(attempt))",
                    metadata: ["site": "\(payload.site)"])
            }
            try? await Task.sleep(for: .seconds(attempt * attempt))
        }
    }
}
