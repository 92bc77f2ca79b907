import CanopyAdminAPI
import Foundation
import Logging
import ServiceLifecycle

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Outgoing notifications: a site's `notify:` URL receives JSON for build started, succeeded and
/// failed, and for deployment activated (like Amplify's EventBridge events and Netlify's deploy
/// notifications). Delivery is in the background with a few retries; it never holds up a build.
///
/// The deliveries are owned: `send` queues one, and the service's `run()` delivers each in a child
/// task of one group. At graceful shutdown it takes no new ones and waits for those queued or under
/// way; when the service group's shutdown deadline passes, they are cancelled (no retry after that).
final class Notifier: Service, Sendable {
    let logger: Logger
    let session: URLSession
    private let queued: AsyncStream<Delivery>
    private let sink: AsyncStream<Delivery>.Continuation

    private struct Delivery: Sendable {
        var url: URL
        var payload: Payload
    }

    init(logger: Logger) {
        self.logger = logger
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 5
        session = URLSession(configuration: configuration)
        (queued, sink) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
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

    /// Queues a notification (nothing when the site has no `notify:` URL, or after shutdown).
    func send(to url: String?, _ payload: Payload) {
        guard let url, let target = URL(string: url) else { return }
        sink.yield(Delivery(url: target, payload: payload))
    }

    /// Delivers what is queued until graceful shutdown, then what was queued before it.
    func run() async {
        let sink = self.sink
        await withDiscardingTaskGroup { group in
            await withGracefulShutdownHandler {
                for await delivery in queued {
                    group.addTask { await self.deliver(delivery.url, delivery.payload) }
                }
            } onGracefulShutdown: {
                sink.finish()
            }
        }
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
            guard attempt < 3, (try? await Task.sleep(for: .seconds(attempt * attempt))) != nil else { return }
        }
    }
}
