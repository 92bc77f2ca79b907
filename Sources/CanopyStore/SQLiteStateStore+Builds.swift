import Foundation
import GRDB

extension BuildRecord {
    init(row: Row) {
        self.init(
            id: row["id"], site: row["site"], branch: row["branch"], commit: row["commit_id"],
            commitMessage: row["commit_message"], status: BuildStatus(rawValue: row["status"]) ?? .failed,
            queuedAt: Date(timeIntervalSince1970: row["queued_at"]),
            startedAt: (row["started_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
            finishedAt: (row["finished_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
            deploymentID: row["deployment_id"], error: row["error"], logPath: row["log_path"])
    }
}

extension SQLiteStateStore {
    // MARK: Builds

    /// Records a new build.
    public func insertBuild(_ build: BuildRecord) async throws {
        try await db.write { db in
            try db.execute(
                sql: """
                    INSERT INTO builds (id, site, branch, commit_id, commit_message, status, queued_at, started_at,
                                        finished_at, deployment_id, error, log_path)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    build.id, build.site, build.branch, build.commit, build.commitMessage, build.status.rawValue,
                    build.queuedAt.timeIntervalSince1970, build.startedAt?.timeIntervalSince1970,
                    build.finishedAt?.timeIntervalSince1970, build.deploymentID, build.error, build.logPath,
                ])
        }
    }

    /// Moves a build to `status`, stamping start or finish times as the status implies.
    public func updateBuild(
        _ id: String, status: BuildStatus, deploymentID: String? = nil, error: String? = nil, at date: Date = Date()
    ) async throws {
        try await db.write { db in
            let t = date.timeIntervalSince1970
            if status == .running {
                try db.execute(
                    sql: "UPDATE builds SET status = ?, started_at = ? WHERE id = ?",
                    arguments: [status.rawValue, t, id])
            } else {
                try db.execute(
                    sql: """
                        UPDATE builds SET status = ?, finished_at = ?, deployment_id = COALESCE(?, deployment_id),
                                          error = COALESCE(?, error)
                        WHERE id = ?
                        """,
                    arguments: [status.rawValue, status.isFinished ? t : nil, deploymentID, error, id])
            }
        }
    }

    public func build(id: String) async throws -> BuildRecord? {
        try await db.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM builds WHERE id = ?", arguments: [id]).map(BuildRecord.init(row:))
        }
    }

    /// The newest builds first, optionally of one site (and branch).
    public func builds(site: String? = nil, branch: String? = nil, limit: Int = 50) async throws -> [BuildRecord] {
        try await db.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM builds
                    WHERE (?1 IS NULL OR site = ?1) AND (?2 IS NULL OR branch = ?2)
                    ORDER BY queued_at DESC, rowid DESC LIMIT ?3
                    """,
                arguments: [site, branch, limit]
            ).map(BuildRecord.init(row:))
        }
    }

    /// The newest build of `commit` on a branch, if any: a commit that was built (passed or failed)
    /// is not built again after a restart.
    public func latestBuild(site: String, branch: String, commit: String) async throws -> BuildRecord? {
        try await db.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT * FROM builds WHERE site = ? AND branch = ? AND commit_id = ?
                    ORDER BY queued_at DESC, rowid DESC LIMIT 1
                    """,
                arguments: [site, branch, commit]
            ).map(BuildRecord.init(row:))
        }
    }

    /// Builds left queued or running: at start, those a process that died left behind.
    public func unfinishedBuilds() async throws -> [BuildRecord] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM builds WHERE status IN ('queued', 'running')")
                .map(BuildRecord.init(row:))
        }
    }

    /// Marks builds left queued (as cancelled) or running (as interrupted) by a process that died;
    /// returns them so the caller can queue their commits again.
    public func abandonUnfinishedBuilds(at date: Date = Date()) async throws -> [BuildRecord] {
        try await db.write { db in
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM builds WHERE status IN ('queued', 'running')")
            try db.execute(
                sql: """
                    UPDATE builds SET status = CASE status WHEN 'running' THEN 'interrupted' ELSE 'cancelled' END,
                                      finished_at = ?,
                                      error = CASE status WHEN 'running' THEN 'The server stopped while this build ran.'
                                              ELSE 'The server stopped before this build started.' END
                    WHERE status IN ('queued', 'running')
                    """,
                arguments: [date.timeIntervalSince1970])
            return rows.map(BuildRecord.init(row:))
        }
    }

    /// How many builds of `commit` on a branch the server's stopping interrupted: the attempts a
    /// retry counts against.
    public func interruptedBuilds(site: String, branch: String, commit: String) async throws -> Int {
        try await db.read { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) FROM builds WHERE site = ? AND branch = ? AND commit_id = ? AND status = 'interrupted'
                    """,
                arguments: [site, branch, commit]) ?? 0
        }
    }
}
