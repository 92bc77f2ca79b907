import CanopyStore
import Crypto
import Foundation
import NIOCore

/// `POST /hooks/<site>`: GitHub, GitLab and Gitea push payloads (or anything) trigger an immediate
/// fetch of the site's repository. The site's `webhookToken` is the webhook's secret; a delivery
/// proves it knows it by one of
/// - `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>` (GitHub, also sent by Gitea and
///   Forgejo; https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries),
/// - `X-Gitea-Signature: <hex HMAC-SHA256 of the body>` (Gitea, Gogs: `X-Gogs-Signature`),
/// - `X-Gitlab-Token: <secret>` (GitLab's "secret token"),
/// - `?token=<secret>` or `Authorization: Bearer <secret>`.
/// An unknown site, a site without a secret and a wrong secret are answered alike (401), so the
/// answer does not tell which sites exist. Tokens are checked on the head, before the body is read;
/// a signature needs the body.
extension AdminAPI {
    enum WebhookProof {
        case token(String)
        /// The hex digest a signature header claims.
        case signature(String)
        case none
    }

    static func webhookProof(_ request: AdminRequest) -> WebhookProof {
        if let github = request.headers.first(name: "X-Hub-Signature-256") {
            return .signature(github.hasPrefix("sha256=") ? String(github.dropFirst(7)) : "")
        }
        if let gitea = request.headers.first(name: "X-Gitea-Signature")
            ?? request.headers.first(name: "X-Gogs-Signature")
        {
            return .signature(gitea)
        }
        if let token = request.query["token"] ?? request.headers.first(name: "X-Gitlab-Token") {
            return .token(token)
        }
        if let header = request.headers.first(name: "Authorization"), header.hasPrefix("Bearer ") {
            return .token(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces))
        }
        return .none
    }

    /// The lowercase hex HMAC-SHA256 of `body` with `secret` as the key.
    static func webhookSignature(secret: String, body: ByteBuffer) -> String {
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array(body.readableBytesView), using: SymmetricKey(data: Array(secret.utf8)))
        return mac.map { String(format: "%02x", $0) }.joined()
    }

    static let notAWebhook = AdminResponse.error(.notFound, "webhooks are POST /hooks/<site>, signed or with ?token=…")

    static func webhookRefused(_ site: String) -> AdminResponse {
        .error(
            .unauthorized,
            "webhook refused: no site \(site) with a webhookToken, or the delivery's token or signature does not match it"
        )
    }

    /// On the head: the answer for a delivery that cannot be good whatever its body, or nil.
    func webhookHeadRefusal(_ request: AdminRequest) async -> AdminResponse? {
        guard request.method == .POST, request.segments.count == 2 else { return Self.notAWebhook }
        let name = request.segments[1]
        guard let secret = await orchestrator.sites[name]?.webhookToken else { return Self.webhookRefused(name) }
        switch Self.webhookProof(request) {
        case .signature: return nil
        case .token(let given): return constantTimeEqual(given, secret) ? nil : Self.webhookRefused(name)
        case .none: return Self.webhookRefused(name)
        }
    }

    func incomingWebhook(_ request: AdminRequest) async -> AdminResponse {
        guard request.method == .POST, request.segments.count == 2 else { return Self.notAWebhook }
        let siteName = request.segments[1]
        guard let secret = await orchestrator.sites[siteName]?.webhookToken else {
            return Self.webhookRefused(siteName)
        }
        let accepted: Bool
        switch Self.webhookProof(request) {
        case .signature(let given):
            accepted = constantTimeEqual(given.lowercased(), Self.webhookSignature(secret: secret, body: request.body))
        case .token(let given): accepted = constantTimeEqual(given, secret)
        case .none: accepted = false
        }
        guard accepted else { return Self.webhookRefused(siteName) }
        orchestrator.logger.info("push notification from webhook:\(siteName)")
        let event =
            request.headers.first(name: "X-GitHub-Event") ?? request.headers.first(name: "X-Gitlab-Event")
            ?? request.headers.first(name: "X-Gitea-Event") ?? "push"
        let ref =
            (try? JSONSerialization.jsonObject(with: Data(request.body.readableBytesView)) as? [String: Any])?["ref"]
            as? String
        await watcher.poke(site: siteName)
        return .json(
            ["site": siteName, "event": event, "ref": ref ?? "", "status": "fetch scheduled"], status: .accepted)
    }
}
