import CanopySpec
import CanopyStore
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// The admin API's routes (`/api/v1/…`, documented in `openapi.yaml`). Every route needs the admin
/// token, as `Authorization: Bearer <token>` or the `canopy-token` cookie the dashboard sets; the one
/// exception is the incoming webhook `POST /hooks/<site>`, which checks the site's own webhook token.
public struct AdminAPI: Sendable {
    let orchestrator: Orchestrator
    let token: String
    let watcher: RepositoryFollower
    let data: DataFolder
    /// The edge's port, for links to hostnames in the dashboard.
    let edgePort: Int
    let metrics: CanopyMetrics

    func handle(_ request: AdminRequest) async -> AdminResponse {
        if request.segments.first == "hooks" {
            return await incomingWebhook(request)
        }
        if request.method == .POST && request.segments == ["login"] {
            return login(request)
        }
        guard authorized(request) else {
            if request.method == .GET && (request.segments.isEmpty || request.segments.first == "builds") {
                return .text(Dashboard.login(message: nil), status: .unauthorized, contentType: "text/html; charset=utf-8")
            }
            var response = AdminResponse.error(
                .unauthorized,
                "missing or wrong admin token: send 'Authorization: Bearer <token>' (the token is in admin.token in the data folder)")
            response.headers.add(name: "WWW-Authenticate", value: "Bearer realm=\"canopy\"")
            return response
        }
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

    func authorized(_ request: AdminRequest) -> Bool {
        if let header = request.headers.first(name: "Authorization"), header.hasPrefix("Bearer ") {
            return constantTimeEqual(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces), token)
        }
        for cookieHeader in request.headers[canonicalForm: "Cookie"] {
            for cookie in cookieHeader.split(separator: ";") {
                let kv = cookie.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if kv.count == 2, kv[0] == "canopy-token" { return constantTimeEqual(String(kv[1]), token) }
            }
        }
        return false
    }

    /// Who did it, for the audit log: the `X-Canopy-Actor` header (the CLI sends user@host), else "api".
    func actor(_ request: AdminRequest) -> String {
        request.headers.first(name: "X-Canopy-Actor") ?? "api"
    }

    private func route(_ request: AdminRequest) async throws -> AdminResponse {
        let s = request.segments
        let state = orchestrator.state
        switch (request.method, s) {
        case (.GET, ["metrics"]):
            return .text(await metrics.exposition(orchestrator: orchestrator), contentType: "text/plain; version=0.0.4; charset=utf-8")
        case (.GET, ["api", "v1", "status"]):
            return .json(try await orchestrator.statusReport())
        case (.GET, ["api", "v1", "sites"]):
            return .json(try await orchestrator.siteSummaries())
        case (.GET, ["api", "v1", "sites", let site, "branches"]):
            return .json(try await state.environments(site: try await knownSite(site)))
        case (.GET, ["api", "v1", "sites", let site, "branches", let branch, "deployments"]):
            return .json(try await state.deployments(site: try await knownSite(site), branch: branch))
        case (.GET, ["api", "v1", "deployments", let id]):
            guard let d = try await state.deployment(id: id) else { throw AdminError(.notFound, "no deployment \(id)") }
            return .json(d)
        case (.GET, ["api", "v1", "hostnames"]):
            return .json(await orchestrator.hostnames)
        case (.POST, ["api", "v1", "hostnames", let host, "split"]):
            let body = try request.decodeJSON(SplitRequest.self)
            let weights = body.targets.map { ($0.target, $0.weight) }
            return .json(try await orchestrator.split(hostname: host, weights: weights, actor: actor(request)))
        case (.DELETE, ["api", "v1", "hostnames", let host, "split"]):
            try await orchestrator.clearPolicy(hostname: host, actor: actor(request))
            return .json(["cleared": host])
        case (.POST, ["api", "v1", "swap"]):
            let body = try request.decodeJSON(SwapRequest.self)
            let start = ContinuousClock.now
            try await orchestrator.swap(body.a, body.b, actor: actor(request))
            return .json(ActionResult(ok: true, detail: "swapped \(body.a) and \(body.b)", milliseconds: (ContinuousClock.now - start).milliseconds))
        case (.POST, ["api", "v1", "rollback"]):
            let body = try request.decodeJSON(TargetRequest.self)
            let start = ContinuousClock.now
            let deployment = try await orchestrator.rollback(body.target, to: body.to, actor: actor(request))
            return .json(ActionResult(ok: true, detail: deployment, milliseconds: (ContinuousClock.now - start).milliseconds))
        case (.POST, ["api", "v1", "pin"]), (.POST, ["api", "v1", "unpin"]):
            let body = try request.decodeJSON(TargetRequest.self)
            return .json(try await orchestrator.setPinned(body.target, pinned: s[2] == "pin", actor: actor(request)))
        case (.GET, ["api", "v1", "rollouts"]):
            return .json(try await state.rollouts())
        case (.POST, ["api", "v1", "rollout"]):
            let body = try request.decodeJSON(RolloutRequest.self)
            return .json(try await orchestrator.rolloutCommand(body.target, action: body.action, actor: actor(request)))
        case (.GET, ["api", "v1", "builds"]):
            let limit = Int(request.query["limit"] ?? "") ?? 50
            return .json(try await state.builds(site: request.query["site"], branch: request.query["branch"], limit: limit))
        case (.POST, ["api", "v1", "builds"]):
            let body = try request.decodeJSON(BuildTrigger.self)
            return .json(try await orchestrator.triggerBuild(site: body.site, branch: body.branch, actor: actor(request)))
        case (.GET, ["api", "v1", "builds", let id]):
            guard let build = try await state.build(id: id) else { throw AdminError(.notFound, "no build \(id)") }
            return .json(build)
        case (.GET, ["api", "v1", "builds", let id, "log"]):
            return try await buildLog(id: id, follow: ["1", "true"].contains(request.query["follow"] ?? ""))
        case (.GET, ["api", "v1", "audit"]):
            return .json(try await state.auditLog(limit: Int(request.query["limit"] ?? "") ?? 100))
        case (.GET, ["api", "v1", "events"]):
            return await events()
        case (.POST, ["api", "v1", "hooks", "local"]):
            let count = await watcher.poke(repository: request.query["repo"])
            return .json(["poked": count])
        default:
            throw AdminError(.notFound, "no route \(request.method) \(request.path); see openapi.yaml")
        }
    }

    private func knownSite(_ site: String) async throws -> String {
        guard await orchestrator.sites[site] != nil else { throw AdminError(.notFound, "no site \(site)") }
        return site
    }

    // MARK: Incoming webhooks

    /// `POST /hooks/<site>?token=…`: GitHub, GitLab and Gitea push payloads (or anything) trigger an
    /// immediate fetch of the site's repository. A wrong token gets 401 and nothing happens.
    private func incomingWebhook(_ request: AdminRequest) async -> AdminResponse {
        guard request.method == .POST, request.segments.count == 2 else {
            return .error(.notFound, "webhooks are POST /hooks/<site>?token=…")
        }
        let siteName = request.segments[1]
        guard let site = await orchestrator.sites[siteName], let expected = site.webhookToken else {
            return .error(.notFound, "no site \(siteName) with a webhookToken")
        }
        let given =
            request.query["token"] ?? request.headers.first(name: "X-Gitlab-Token")
            ?? request.headers.first(name: "Authorization").map { $0.replacingOccurrences(of: "Bearer ", with: "") } ?? ""
        guard constantTimeEqual(given, expected) else {
            return .error(.unauthorized, "wrong webhook token for site \(siteName)")
        }
        let event =
            request.headers.first(name: "X-GitHub-Event") ?? request.headers.first(name: "X-Gitlab-Event")
            ?? request.headers.first(name: "X-Gitea-Event") ?? "push"
        let ref = (try? JSONSerialization.jsonObject(with: Data(request.body.readableBytesView)) as? [String: Any])?["ref"] as? String
        await watcher.poke(site: siteName)
        return .json(["site": siteName, "event": event, "ref": ref ?? "", "status": "fetch scheduled"], status: .accepted)
    }

    // MARK: Streams

    private func events() async -> AdminResponse {
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
            status: .ok, headers: ["Content-Type": "text/event-stream", "X-Accel-Buffering": "no"], body: .stream(stream))
    }

    private func buildLog(id: String, follow: Bool) async throws -> AdminResponse {
        guard let build = try await orchestrator.state.build(id: id) else { throw AdminError(.notFound, "no build \(id)") }
        guard follow else {
            return .text((try? String(contentsOfFile: build.logPath, encoding: .utf8)) ?? "")
        }
        let state = orchestrator.state
        let stream = AsyncStream<String> { continuation in
            let task = Task {
                var offset: UInt64 = 0
                func readNew() {
                    guard let handle = FileHandle(forReadingAtPath: build.logPath) else { return }
                    defer { try? handle.close() }
                    try? handle.seek(toOffset: offset)
                    let data = handle.readDataToEndOfFile()
                    if !data.isEmpty {
                        offset += UInt64(data.count)
                        continuation.yield(String(decoding: data, as: UTF8.self))
                    }
                }
                while !Task.isCancelled {
                    readNew()
                    if let current = try? await state.build(id: id), current.status.isFinished {
                        readNew()  // the last lines written after the status changed
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
}

// MARK: Request and response bodies

struct SplitRequest: Codable {
    struct Target: Codable {
        var target: String
        var weight: Double
    }
    var targets: [Target]
}

struct SwapRequest: Codable {
    var a: String
    var b: String
}

struct TargetRequest: Codable {
    var target: String
    var to: String?
}

struct RolloutRequest: Codable {
    var target: String
    var action: String
}

struct BuildTrigger: Codable {
    var site: String
    var branch: String
}

struct ActionResult: Codable {
    var ok: Bool
    var detail: String
    /// How long the action took inside the server.
    var milliseconds: Double
}

extension Duration {
    var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}

/// Compares two secrets in time that depends only on their lengths.
func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    var difference = UInt8(x.count == y.count ? 0 : 1)
    for i in 0..<max(x.count, y.count) {
        difference |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
    }
    return difference == 0
}
