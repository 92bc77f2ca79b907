import Foundation
import Testing

/// Issue 15 item 6: the audit log named whoever the client claimed to be (`X-Canopy-Actor`), and the
/// hook carried the admin token itself. The actor is now whom the token belongs to, and the hook's
/// own token can only announce a push.
@Suite(.serialized)
struct AuditActorTests {
    @Test func theAuditLogNamesTheTokensOwnerNotAClaimedActor() async throws {
        let (canopy, _) = try await PushToDeployTests.deployedMain("audit")
        let forged = try TestHTTP.request(
            "POST", port: canopy.adminPort, path: "/api/v1/builds", host: "127.0.0.1",
            headers: [
                "Authorization": "Bearer \(canopy.adminToken)", "Content-Type": "application/json",
                "X-Canopy-Actor": "hook:someone-else",
            ],
            body: Data(#"{"site":"site","branch":"main"}"#.utf8))
        #expect(forged.status == 200)
        let audit = try JSONSerialization.jsonObject(with: canopy.admin("/api/v1/audit").body) as? [[String: Any]] ?? []
        let build = try #require(audit.first { $0["action"] as? String == "build" })
        #expect(build["actor"] as? String == "admin")
        #expect(!audit.contains { ($0["actor"] as? String)?.contains("someone-else") == true })
    }

    @Test func theHookTokenOnlyAnnouncesAPush() async throws {
        let (canopy, repo) = try await PushToDeployTests.deployedMain("hooktoken")
        let hookToken = try String(contentsOfFile: canopy.data + "/hook.token", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!hookToken.isEmpty && hookToken != canopy.adminToken)
        let poke = try canopy.admin("POST", "/api/v1/hooks/local?repo=\(repo.bare)", token: hookToken)
        #expect(poke.status == 200)
        for path in ["/api/v1/status", "/api/v1/audit"] {
            #expect(try canopy.admin("GET", path, token: hookToken).status == 401)
        }
        let build = try canopy.admin(
            "POST", "/api/v1/builds", json: #"{"site":"site","branch":"main"}"#, token: hookToken)
        #expect(build.status == 401)
    }
}
