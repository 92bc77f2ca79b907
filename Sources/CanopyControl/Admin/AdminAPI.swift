import CanopyAdminAPI
import CanopySpec
import CanopyStore
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// The admin API's routes (`/api/v1/…`, documented in `openapi.yaml`). Every route needs the admin
/// token, as `Authorization: Bearer <token>` or the dashboard's session cookie (`POST /login`); the one
/// exception is the incoming webhook `POST /hooks/<site>`, which checks the site's own webhook token.
public struct AdminAPI: Sendable {
    let orchestrator: Orchestrator
    let token: String
    /// The post-receive hook's token (`hook.token`): good for `POST /api/v1/hooks/local` only.
    let hookToken: String?
    let watcher: RepositoryFollower
    /// The edge's port, for links to hostnames in the dashboard.
    let edgePort: Int
    let metrics: CanopyMetrics
    /// The dashboard's sign-ins.
    let sessions = DashboardSessions()

    func handle(_ request: AdminRequest) async -> AdminResponse {
        Self.withSecurityHeaders(await answer(request))
    }

    private func answer(_ request: AdminRequest) async -> AdminResponse {
        if request.segments.first == "hooks" {
            return await incomingWebhook(request)
        }
        if request.method == .POST && request.segments == ["api", "v1", "hooks", "local"], let hookToken,
            let given = bearerToken(request), constantTimeEqual(given, hookToken)
        {
            return await localHook(request)
        }
        if let refusal = crossOriginRefusal(request) { return refusal }
        if request.method == .POST && request.segments == ["login"] {
            return login(request)
        }
        guard authorized(request) else { return unauthorizedResponse(request) }
        if request.method == .POST && request.segments == ["logout"] { return logout(request) }
        do {
            if let page = try await dashboard(request) { return page }
            return try await route(request)
        } catch let error as AdminError {
            return .error(error.status, error.message)
        } catch let error as TrafficError {
            return .error(error.isNotFound ? .notFound : .conflict, error.description)
        } catch {
            return .error(.internalServerError, "\(error)")
        }
    }

    func bearerToken(_ request: AdminRequest) -> String? {
        guard let header = request.headers.first(name: "Authorization"), header.hasPrefix("Bearer ") else { return nil }
        return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    }

    func authorized(_ request: AdminRequest) -> Bool {
        if let given = bearerToken(request) { return constantTimeEqual(given, token) }
        return sessionID(request).map { sessions.isValid($0) } ?? false
    }

    /// Who did it, for the audit log: whom the token that authorised the request belongs to. Every
    /// auditable route needs the admin token, so that is "admin" (webhooks are "webhook:<site>" and
    /// the post-receive hook "hook:<site>" in the server's log). Nothing the client claims (such as an
    /// `X-Canopy-Actor` header) is taken for it.
    func actor(_ request: AdminRequest) -> String {
        "admin"
    }

    /// `POST /api/v1/hooks/local?repo=PATH` with the hook token: schedules a scan of the sites that
    /// follow that repository.
    private func localHook(_ request: AdminRequest) async -> AdminResponse {
        let repository = request.query["repo"]
        let sites = await orchestrator.sites.values
            .filter {
                RepositoryFollower.normalise($0.repositoryLocation) == RepositoryFollower.normalise(repository ?? "")
            }
            .map { "hook:\($0.name)" }
        orchestrator.logger.info(
            "push notification from \(sites.isEmpty ? "hook" : sites.sorted().joined(separator: ", "))")
        return .json(HookPoked(poked: await watcher.poke(repository: repository)))
    }

    /// One route of the admin API: a method and a path template (`{name}` matches one segment).
    struct Route: Sendable {
        var method: HTTPMethod
        var template: String
        var handler: @Sendable (AdminAPI, AdminRequest, [String: String]) async throws -> AdminResponse

        /// The parameters when `segments` fit the template; nil otherwise.
        func match(_ request: AdminRequest) -> [String: String]? {
            guard request.method == method else { return nil }
            let parts = template.split(separator: "/").map(String.init)
            guard parts.count == request.segments.count else { return nil }
            var params: [String: String] = [:]
            for (part, segment) in zip(parts, request.segments) {
                if part.hasPrefix("{") && part.hasSuffix("}") {
                    params[String(part.dropFirst().dropLast())] = segment
                } else if part != segment {
                    return nil
                }
            }
            return params
        }
    }

    /// Every route of the API (the dashboard's pages and forms are in `dashboard(_:)`); a test checks
    /// this table against openapi.yaml.
    static let routes: [Route] =
        [
            Route(method: .GET, template: "/metrics") { api, _, _ in
                .text(
                    await api.metrics.exposition(orchestrator: api.orchestrator),
                    contentType: "text/plain; version=0.0.4; charset=utf-8")
            },
            Route(method: .GET, template: "/api/v1/status") { api, _, _ in
                .json(try await api.orchestrator.statusReport())
            },
            Route(method: .GET, template: "/api/v1/sites") { api, _, _ in
                .json(try await api.orchestrator.siteSummaries())
            },
            Route(method: .GET, template: "/api/v1/sites/{site}/branches") { api, _, p in
                .json(try await api.orchestrator.state.environments(site: try await api.knownSite(p["site"]!)))
            },
            Route(method: .GET, template: "/api/v1/sites/{site}/branches/{branch}/deployments") { api, _, p in
                .json(
                    try await api.orchestrator.state.deployments(
                        site: try await api.knownSite(p["site"]!), branch: p["branch"]!))
            },
            Route(method: .GET, template: "/api/v1/deployments/{id}") { api, _, p in
                guard let d = try await api.orchestrator.state.deployment(id: p["id"]!) else {
                    throw AdminError(.notFound, "no deployment \(p["id"]!)")
                }
                return .json(d)
            },
            Route(method: .GET, template: "/api/v1/hostnames") { api, _, _ in .json(await api.orchestrator.hostnames) },
            Route(method: .POST, template: "/api/v1/hostnames/{hostname}/split") { api, request, p in
                let body = try request.decodeJSON(SplitRequest.self)
                return .json(
                    try await api.orchestrator.split(
                        hostname: p["hostname"]!, weights: body.targets.map { ($0.target, $0.weight) },
                        actor: api.actor(request)))
            },
            Route(method: .DELETE, template: "/api/v1/hostnames/{hostname}/split") { api, request, p in
                try await api.orchestrator.clearPolicy(hostname: p["hostname"]!, actor: api.actor(request))
                return .json(SplitCleared(cleared: p["hostname"]!))
            },
            Route(method: .POST, template: "/api/v1/swap") { api, request, _ in
                let body = try request.decodeJSON(SwapRequest.self)
                let start = ContinuousClock.now
                try await api.orchestrator.swap(body.a, body.b, actor: api.actor(request))
                return .json(
                    ActionResult(
                        ok: true, detail: "swapped \(body.a) and \(body.b)",
                        milliseconds: (ContinuousClock.now - start).milliseconds))
            },
            Route(method: .POST, template: "/api/v1/rollback") { api, request, _ in
                let body = try request.decodeJSON(TargetRequest.self)
                let start = ContinuousClock.now
                let deployment = try await api.orchestrator.rollback(
                    body.target, to: body.to, actor: api.actor(request))
                return .json(
                    ActionResult(ok: true, detail: deployment, milliseconds: (ContinuousClock.now - start).milliseconds)
                )
            },
            Route(method: .POST, template: "/api/v1/pin") { api, request, _ in
                .json(
                    try await api.orchestrator.setPinned(
                        try request.decodeJSON(TargetRequest.self).target, pinned: true, actor: api.actor(request)))
            },
            Route(method: .POST, template: "/api/v1/unpin") { api, request, _ in
                .json(
                    try await api.orchestrator.setPinned(
                        try request.decodeJSON(TargetRequest.self).target, pinned: false, actor: api.actor(request)))
            },
            Route(method: .GET, template: "/api/v1/rollouts") { api, _, _ in
                .json(try await api.orchestrator.state.rollouts())
            },
            Route(method: .POST, template: "/api/v1/rollout") { api, request, _ in
                let body = try request.decodeJSON(RolloutRequest.self)
                return .json(
                    try await api.orchestrator.rolloutCommand(
                        body.target, action: body.action, actor: api.actor(request)))
            },
            Route(method: .GET, template: "/api/v1/builds") { api, request, _ in
                let limit = Int(request.query["limit"] ?? "") ?? 50
                return .json(
                    try await api.orchestrator.state.builds(
                        site: request.query["site"], branch: request.query["branch"], limit: limit))
            },
            Route(method: .POST, template: "/api/v1/builds") { api, request, _ in
                let body = try request.decodeJSON(BuildTrigger.self)
                return .json(
                    try await api.orchestrator.triggerBuild(
                        site: body.site, branch: body.branch, actor: api.actor(request))
                )
            },
            Route(method: .GET, template: "/api/v1/builds/{id}") { api, _, p in
                guard let build = try await api.orchestrator.state.build(id: p["id"]!) else {
                    throw AdminError(.notFound, "no build \(p["id"]!)")
                }
                return .json(build)
            },
            Route(method: .GET, template: "/api/v1/builds/{id}/log") { api, request, p in
                try await api.buildLog(id: p["id"]!, follow: ["1", "true"].contains(request.query["follow"] ?? ""))
            },
            Route(method: .GET, template: "/api/v1/audit") { api, request, _ in
                .json(try await api.orchestrator.state.auditLog(limit: Int(request.query["limit"] ?? "") ?? 100))
            },
            Route(method: .GET, template: "/api/v1/events") { api, _, _ in await api.events() },
            Route(method: .POST, template: "/api/v1/hooks/local") { api, request, _ in
                .json(HookPoked(poked: await api.watcher.poke(repository: request.query["repo"])))
            },
        ] + certificateRoutes

    private func route(_ request: AdminRequest) async throws -> AdminResponse {
        for route in Self.routes {
            if let params = route.match(request) { return try await route.handler(self, request, params) }
        }
        throw AdminError(.notFound, "no route \(request.method) \(request.path); see openapi.yaml")
    }

    func knownSite(_ site: String) async throws -> String {
        guard await orchestrator.sites[site] != nil else { throw AdminError(.notFound, "no site \(site)") }
        return site
    }

    // MARK: Streams

    func events() async -> AdminResponse {
        let source = await orchestrator.events()
        let stream = AsyncStream<String> { continuation in
            continuation.yield(": canopy events\n\n")
            let task = Task {
                for await event in source {
                    continuation.yield(event.serverSentEvent)
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
        return AdminResponse(
            status: .ok, headers: ["Content-Type": "text/event-stream", "X-Accel-Buffering": "no"],
            body: .stream(stream))
    }

    /// `GET /api/v1/builds/{id}/log`: the log as it is, or (`follow`) streamed until the build ends.
    /// Every read of the file runs on the blocking pool.
    func buildLog(id: String, follow: Bool) async throws -> AdminResponse {
        guard let build = try await orchestrator.state.build(id: id) else {
            throw AdminError(.notFound, "no build \(id)")
        }
        let blocking = orchestrator.blocking
        let path = build.logPath
        guard follow else {
            let text = try await blocking.run { Self.readLog(path, from: 0) }
            if build.status.isFinished && text == nil {
                return .text(
                    "No log for build \(id): \(build.error ?? "retention removed it with the build's folder.")\n")
            }
            return .text(text.map { String(decoding: $0, as: UTF8.self) } ?? "")
        }
        let state = orchestrator.state
        let stream = AsyncStream<String> { continuation in
            let task = Task {
                var offset: UInt64 = 0
                func readNew() async {
                    let start = offset
                    guard let data = try? await blocking.run({ Self.readLog(path, from: start) }) ?? nil,
                        !data.isEmpty
                    else { return }
                    offset += UInt64(data.count)
                    continuation.yield(String(decoding: data, as: UTF8.self))
                }
                while !Task.isCancelled {
                    await readNew()
                    if let current = try? await state.build(id: id), current.status.isFinished {
                        await readNew()  // the last lines written after the status changed
                        break
                    }
                    try? await Task.sleep(for: .milliseconds(200))
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
        return AdminResponse(status: .ok, headers: ["Content-Type": "text/plain; charset=utf-8"], body: .stream(stream))
    }

    /// A log's bytes from `offset` on; nil when there is no such file. Blocking: call on the pool.
    static func readLog(_ path: String, from offset: UInt64) -> Data? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        try? handle.seek(toOffset: offset)
        return handle.readDataToEndOfFile()
    }
}

extension Duration {
    var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}
