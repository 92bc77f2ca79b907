import Foundation
import GRDB

extension SQLiteStateStore {
    // MARK: Host policies

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    public func hostPolicies() async throws -> [HostPolicy] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM host_policies ORDER BY hostname").map(Self.policy(row:))
        }
    }

    static func policy(row: Row) throws -> HostPolicy {
        let json: String = row["targets"]
        return HostPolicy(
            hostname: row["hostname"], site: row["site"],
            targets: try JSONDecoder().decode([PolicyTarget].self, from: Data(json.utf8)),
            updatedAt: Date(timeIntervalSince1970: row["updated_at"]))
    }

    /// Sets (or, with `targets == nil`, clears) the policies of several hostnames in one transaction,
    /// with one audit entry: a swap changes two hostnames atomically.
    public func setHostPolicies(
        _ changes: [(hostname: String, site: String, targets: [PolicyTarget]?)], audit: AuditEntry
    ) async throws {
        try await db.write { db in
            let now = Date().timeIntervalSince1970
            for change in changes {
                if let targets = change.targets {
                    let json = String(decoding: try Self.encoder.encode(targets), as: UTF8.self)
                    try db.execute(
                        sql: """
                            INSERT INTO host_policies (hostname, site, targets, updated_at) VALUES (?, ?, ?, ?)
                            ON CONFLICT(hostname) DO UPDATE SET site = excluded.site, targets = excluded.targets,
                                updated_at = excluded.updated_at
                            """,
                        arguments: [change.hostname, change.site, json, now])
                } else {
                    try db.execute(sql: "DELETE FROM host_policies WHERE hostname = ?", arguments: [change.hostname])
                }
            }
            try Self.insertAudit(db, audit)
        }
    }

    // MARK: Rollouts

    public func rollouts(activeOnly: Bool = false) async throws -> [RolloutRecord] {
        try await db.read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT * FROM rollouts WHERE (?1 = 0 OR status IN ('checking', 'running', 'paused')) ORDER BY site, branch",
                arguments: [activeOnly]
            ).map(Self.rollout(row:))
        }
    }

    public func rollout(site: String, branch: String) async throws -> RolloutRecord? {
        try await db.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM rollouts WHERE site = ? AND branch = ?", arguments: [site, branch]
            )
            .map(Self.rollout(row:))
        }
    }

    static func rollout(row: Row) -> RolloutRecord {
        RolloutRecord(
            site: row["site"], branch: row["branch"], fromDeployment: row["from_deployment"],
            toDeployment: row["to_deployment"], strategy: row["strategy"], percent: row["percent"],
            status: RolloutRecord.Status(rawValue: row["status"]) ?? .aborted,
            startedAt: Date(timeIntervalSince1970: row["started_at"]),
            nextStepAt: (row["next_step_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
            message: row["message"], updatedAt: Date(timeIntervalSince1970: row["updated_at"]))
    }

    /// Writes a rollout's new state; when it completes, the branch's active pointer moves to the new
    /// deployment in the same transaction.
    public func saveRollout(_ r: RolloutRecord, activateOnCompletion: Bool = true) async throws {
        try await db.write { db in
            try db.execute(
                sql: """
                    INSERT INTO rollouts (site, branch, from_deployment, to_deployment, strategy, percent, status,
                                          started_at, next_step_at, message, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(site, branch) DO UPDATE SET
                        from_deployment = excluded.from_deployment, to_deployment = excluded.to_deployment,
                        strategy = excluded.strategy, percent = excluded.percent, status = excluded.status,
                        started_at = excluded.started_at, next_step_at = excluded.next_step_at,
                        message = excluded.message, updated_at = excluded.updated_at
                    """,
                arguments: [
                    r.site, r.branch, r.fromDeployment, r.toDeployment, r.strategy, r.percent, r.status.rawValue,
                    r.startedAt.timeIntervalSince1970, r.nextStepAt?.timeIntervalSince1970, r.message,
                    Date().timeIntervalSince1970,
                ])
            if r.status == .completed && activateOnCompletion {
                try Self.activate(
                    db, site: r.site, branch: r.branch, deployment: r.toDeployment, reason: "rollout completed")
            }
        }
    }

    // MARK: Audit log

    public func recordAudit(_ entry: AuditEntry) async throws {
        try await db.write { db in try Self.insertAudit(db, entry) }
    }

    static func insertAudit(_ db: Database, _ e: AuditEntry) throws {
        try db.execute(
            sql: "INSERT INTO audit_log (at, actor, action, target, before, after) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [e.at.timeIntervalSince1970, e.actor, e.action, e.target, e.before, e.after])
    }

    public func auditLog(limit: Int = 100) async throws -> [AuditEntry] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", arguments: [limit]).map {
                row in
                AuditEntry(
                    id: row["id"], at: Date(timeIntervalSince1970: row["at"]), actor: row["actor"],
                    action: row["action"], target: row["target"], before: row["before"], after: row["after"])
            }
        }
    }
}
