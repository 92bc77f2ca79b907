import CanopyStore
import Foundation
import NIOHTTP1

extension AdminAPI {
    /// `POST /login`: the dashboard's token prompt; opens a session and sets its cookie (the token
    /// itself never goes into a cookie).
    func login(_ request: AdminRequest) -> AdminResponse {
        let form = Self.formFields(request.bodyString)
        guard let given = form["token"], constantTimeEqual(given, token) else {
            return .text(
                Dashboard.login(message: "That is not the admin token."), status: .unauthorized,
                contentType: "text/html; charset=utf-8")
        }
        var response = AdminResponse(status: .seeOther, headers: ["Location": "/"], body: .bytes(.init()))
        response.headers.add(name: "Set-Cookie", value: sessions.cookie(sessions.open(), secure: Self.isHTTPS(request)))
        return response
    }

    /// The dashboard's pages (`GET /`, `GET /builds/<id>`) and form actions (`POST /ui/<action>`).
    func dashboard(_ request: AdminRequest) async throws -> AdminResponse? {
        let s = request.segments
        if request.method == .GET && s.isEmpty {
            let sites = try await orchestrator.siteSummaries()
            let builds = try await orchestrator.state.builds(limit: 25)
            let body =
                Dashboard.render(
                    sites: sites, builds: builds, edgeBase: ("http", edgePort),
                    problems: await orchestrator.siteProblems)
                + Dashboard.certificates(await orchestrator.certificates.statuses())
            let html =
                request.headers.first(name: "X-Canopy-Fragment") != nil
                ? body : Dashboard.page(title: "Canopy", body: body)
            return .text(html, contentType: "text/html; charset=utf-8")
        }
        if request.method == .GET && s.count == 2 && s[0] == "builds" {
            let id = s[1]
            guard let build = try await orchestrator.state.build(id: id) else {
                throw AdminError(.notFound, "no build \(id)")
            }
            let path = build.logPath
            let log =
                try await orchestrator.blocking.run { Self.readLog(path, from: 0) }
                .map { String(decoding: $0, as: UTF8.self) } ?? ""
            return .text(Dashboard.buildPage(build, log: log), contentType: "text/html; charset=utf-8")
        }
        if request.method == .POST && s.count == 2 && s[0] == "ui" {
            let action = s[1]
            let form = Self.formFields(request.bodyString)
            let who = actor(request)
            switch action {
            case "rollback": _ = try await orchestrator.rollback(form["target"] ?? "", to: form["to"], actor: who)
            case "split-clear": try await orchestrator.clearPolicy(hostname: form["hostname"] ?? "", actor: who)
            case "swap": try await orchestrator.swap(form["a"] ?? "", form["b"] ?? "", actor: who)
            case "pin", "unpin":
                _ = try await orchestrator.setPinned(form["target"] ?? "", pinned: action == "pin", actor: who)
            case "rollout":
                _ = try await orchestrator.rolloutCommand(
                    form["target"] ?? "", action: form["action"] ?? "", actor: who)
            case "build":
                _ = try await orchestrator.triggerBuild(
                    site: form["site"] ?? "", branch: form["branch"] ?? "", actor: who)
            default: throw AdminError(.notFound, "no dashboard action \(action)")
            }
            return AdminResponse(status: .seeOther, headers: ["Location": "/"], body: .bytes(.init()))
        }
        return nil
    }

    /// `application/x-www-form-urlencoded` → fields.
    static func formFields(_ body: String) -> [String: String] {
        URLEncodedForm.decode(body[...])
    }
}
