import Crypto
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue #15 on a real `canopy serve`: the admin listener checks the token on a request's head, and
/// a signed GitHub or GitLab webhook deploys.
@Suite(.serialized)
struct AdminHardeningTests {
    static let sites = """
        repository: ../repos/site.git
        webhookToken: It's a Secret to Everybody
        branches:
          main: { domains: [site.test] }
        """

    /// Sends a request head and nothing more; returns what the server answered before hanging up
    /// (empty when it waited for the body past the client's 30-second receive timeout).
    static func headOnly(port: Int, _ head: String) throws -> String {
        let fd = try connectLoopback(port: port)
        defer { close(fd) }
        _ = head.utf8CString.withUnsafeBytes { send(fd, $0.baseAddress, $0.count - 1, 0) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: data, as: UTF8.self)
    }

    @Test func anUnauthenticatedUploadIsAnsweredOnItsHead() async throws {
        let canopy = try CanopyInstance("adminhead")
        try await canopy.start()
        let reply = try Self.headOnly(
            port: canopy.adminPort,
            "POST /api/v1/rollback HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4194304\r\n\r\n")
        #expect(reply.hasPrefix("HTTP/1.1 401"), "\(reply)")
        #expect(reply.contains("Connection: close"))
        // A webhook for a site that does not exist, or with a wrong token, is not read either.
        let hook = try Self.headOnly(
            port: canopy.adminPort,
            "POST /hooks/nosuchsite?token=x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4194304\r\n\r\n")
        #expect(hook.hasPrefix("HTTP/1.1 401"), "\(hook)")
    }

    /// GitHub signs the body with the webhook secret: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256>`
    /// (https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries, whose example
    /// secret this site uses); GitLab sends the secret itself in `X-Gitlab-Token`
    /// (https://docs.gitlab.com/user/project/integrations/webhooks/#create-a-webhook). A wrong
    /// signature and an unknown site are answered alike.
    @Test func aSignedGitHubWebhookDeploysAndABadSignatureOrUnknownSiteIsRefusedAlike() async throws {
        let canopy = try CanopyInstance("signedhook")
        let repo = try SiteRepository(in: canopy)
        try canopy.writeSite("site", Self.sites)
        try await canopy.start(extraArguments: ["--poll", "600"])
        try repo.commit("Initial site")
        try repo.push("main")

        let payload = Data(#"{"ref":"refs/heads/main","repository":{"full_name":"team/site"}}"#.utf8)
        func deliver(_ site: String, _ headers: [String: String]) throws -> HTTPResult {
            try TestHTTP.request(
                "POST", port: canopy.adminPort, path: "/hooks/\(site)", host: "127.0.0.1",
                headers: headers.merging(["X-GitHub-Event": "push", "Content-Type": "application/json"]) { a, _ in a },
                body: payload)
        }
        let key = SymmetricKey(data: Data("It's a Secret to Everybody".utf8))
        let good = HMAC<SHA256>.authenticationCode(for: payload, using: key).map { String(format: "%02x", $0) }
            .joined()
        let forged = HMAC<SHA256>.authenticationCode(for: payload, using: SymmetricKey(data: Data("guess".utf8)))
            .map { String(format: "%02x", $0) }.joined()

        let bad = try deliver("site", ["X-Hub-Signature-256": "sha256=" + forged])
        let unknown = try deliver("other", ["X-Hub-Signature-256": "sha256=" + good])
        let unsigned = try deliver("site", [:])
        for refused in [bad, unknown, unsigned] { #expect(refused.status == 401, "\(refused.status) \(refused.text)") }
        #expect(bad.text == unknown.text.replacingOccurrences(of: "no site other", with: "no site site"))
        #expect(!canopy.serverLog.contains("push notification from webhook:site"))

        let signed = try deliver("site", ["X-Hub-Signature-256": "sha256=" + good])
        #expect(signed.status == 202, "\(signed.text)")
        #expect(canopy.serverLog.contains("push notification from webhook:site"))
        try await canopy.waitForContent("site.test", "Hello from branch")
        let gitlab = try deliver(
            "site", ["X-Gitlab-Token": "It's a Secret to Everybody", "X-Gitlab-Event": "Push Hook"])
        #expect(gitlab.status == 202, "\(gitlab.text)")
    }
}
