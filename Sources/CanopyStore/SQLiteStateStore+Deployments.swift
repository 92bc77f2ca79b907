import Foundation
import GRDB

extension DeploymentRecord {
    init(row: Row) {
        self.init(
            id: row["id"], site: row["site"], branch: row["branch"], commit: row["commit_id"],
            commitMessage: row["commit_message"], commitTime: Date(timeIntervalSince1970: row["commit_time"]),
            createdAt: Date(timeIntervalSince1970: row["created_at"]), buildID: row["build_id"],
            fileCount: row["file_count"], totalBytes: row["total_bytes"],
            removedAt: (row["removed_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }
}

extension EnvironmentRecord {
    init(row: Row) {
        self.init(
            site: row["site"], branch: row["branch"], kind: row["kind"], headCommit: row["head_commit"],
            activeDeployment: row["active_deployment"], pinned: row["pinned"],
            deletedAt: (row["deleted_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
            updatedAt: Date(timeIntervalSince1970: row["updated_at"]))
    }
}

extension SQLiteStateStore {
    // MARK: Deployments

    /// Records a deployment and, unless the environment is pinned, makes it the active one, in one
    /// transaction. Returns true when it was activated.
    @discardableResult
    public func recordDeployment(_ d: DeploymentRecord, activate: Bool, reason: String) async throws -> Bool {
        try await db.write { db in
            try db.execute(
                sql: """
                    INSERT INTO deployments (id, site, branch, commit_id, commit_message, commit_time, created_at,
                                             build_id, file_count, total_bytes)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    d.id, d.site, d.branch, d.commit, d.commitMessage, d.commitTime.timeIntervalSince1970,
                    d.createdAt.timeIntervalSince1970, d.buildID, d.fileCount, d.totalBytes,
                ])
            guard activate else { return false }
            let pinned =
                try Bool.fetchOne(
                    db, sql: "SELECT pinned FROM environments WHERE site = ? AND branch = ?",
                    arguments: [d.site, d.branch]) ?? false
            guard !pinned else { return false }
            try Self.activate(db, site: d.site, branch: d.branch, deployment: d.id, reason: reason)
            return true
        }
    }

    /// Points an environment at a deployment it already has: a pointer move, durable before return.
    public func activate(site: String, branch: String, deployment: String, reason: String) async throws {
        try await db.write { db in
            try Self.activate(db, site: site, branch: branch, deployment: deployment, reason: reason)
        }
    }

    static func activate(_ db: Database, site: String, branch: String, deployment: String, reason: String) throws {
        let now = Date().timeIntervalSince1970
        try db.execute(
            sql: "UPDATE environments SET active_deployment = ?, updated_at = ? WHERE site = ? AND branch = ?",
            arguments: [deployment, now, site, branch])
        try db.execute(
            sql: "INSERT INTO activations (site, branch, deployment_id, at, reason) VALUES (?, ?, ?, ?, ?)",
            arguments: [site, branch, deployment, now, reason])
    }

    public func deployment(id: String) async throws -> DeploymentRecord? {
        try await db.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM deployments WHERE id = ?", arguments: [id])
                .map(DeploymentRecord.init(row:))
        }
    }

    /// A branch's deployments, newest first (removed ones included when asked).
    public func deployments(
        site: String, branch: String? = nil, includeRemoved: Bool = false
    ) async throws
        -> [DeploymentRecord]
    {
        try await db.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM deployments
                    WHERE site = ?1 AND (?2 IS NULL OR branch = ?2) AND (?3 OR removed_at IS NULL)
                    ORDER BY created_at DESC, rowid DESC
                    """,
                arguments: [site, branch, includeRemoved]
            ).map(DeploymentRecord.init(row:))
        }
    }

    /// Every deployment not yet removed by retention.
    public func liveDeployments() async throws -> [DeploymentRecord] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM deployments WHERE removed_at IS NULL ORDER BY created_at")
                .map(DeploymentRecord.init(row:))
        }
    }

    public func markDeploymentsRemoved(_ ids: [String], at date: Date = Date()) async throws {
        guard !ids.isEmpty else { return }
        try await db.write { db in
            for id in ids {
                try db.execute(
                    sql: "UPDATE deployments SET removed_at = ? WHERE id = ?",
                    arguments: [date.timeIntervalSince1970, id])
            }
        }
    }

    // MARK: Environments

    /// Creates the environment when new, or revives a deleted one; records its newest commit.
    public func upsertEnvironment(site: String, branch: String, kind: String, headCommit: String?) async throws {
        try await db.write { db in
            try db.execute(
                sql: """
                    INSERT INTO environments (site, branch, kind, head_commit, updated_at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(site, branch) DO UPDATE SET
                        kind = excluded.kind, head_commit = excluded.head_commit, deleted_at = NULL,
                        updated_at = excluded.updated_at
                    """,
                arguments: [site, branch, kind, headCommit, Date().timeIntervalSince1970])
        }
    }

    /// The branch is gone: it stops serving (its deployments stay until retention removes them).
    public func markEnvironmentDeleted(site: String, branch: String, at date: Date = Date()) async throws {
        try await db.write { db in
            try db.execute(
                sql: """
                    UPDATE environments SET deleted_at = ?, active_deployment = NULL, updated_at = ?
                    WHERE site = ? AND branch = ?
                    """,
                arguments: [date.timeIntervalSince1970, date.timeIntervalSince1970, site, branch])
        }
    }

    public func setPinned(site: String, branch: String, pinned: Bool) async throws {
        try await db.write { db in
            try db.execute(
                sql: "UPDATE environments SET pinned = ?, updated_at = ? WHERE site = ? AND branch = ?",
                arguments: [pinned, Date().timeIntervalSince1970, site, branch])
        }
    }

    public func environment(site: String, branch: String) async throws -> EnvironmentRecord? {
        try await db.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM environments WHERE site = ? AND branch = ?", arguments: [site, branch]
            ).map(EnvironmentRecord.init(row:))
        }
    }

    /// Every environment, deleted ones included when asked.
    public func environments(site: String? = nil, includeDeleted: Bool = false) async throws -> [EnvironmentRecord] {
        try await db.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM environments
                    WHERE (?1 IS NULL OR site = ?1) AND (?2 OR deleted_at IS NULL)
                    ORDER BY site, branch
                    """,
                arguments: [site, includeDeleted]
            ).map(EnvironmentRecord.init(row:))
        }
    }

    /// Deployments an environment served, newest activation first, without repeats.
    public func activationHistory(site: String, branch: String) async throws -> [String] {
        try await db.read { db in
            let ids = try String.fetchAll(
                db,
                sql: "SELECT deployment_id FROM activations WHERE site = ? AND branch = ? ORDER BY id DESC",
                arguments: [site, branch])
            var seen = Set<String>()
            return ids.filter { seen.insert($0).inserted }
        }
    }
}
