import Foundation
import GRDB

/// Canopy's durable state in SQLite (`state.sqlite` in the data folder): builds, deployments, branch
/// environments and which deployment each one serves.
///
/// Every write is a transaction in WAL mode with `synchronous = FULL`, so an activation is on disk
/// before the edge is told about it, and a `kill -9` loses nothing that was acknowledged. GRDB runs
/// the work on its own serial queue, off the event loops and off the cooperative pool.
public final class SQLiteStateStore: StateStore {
    let db: DatabaseQueue

    /// Opens (creating and migrating when needed) the database at `path`.
    public init(path: String) throws {
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        let queue = try DatabaseQueue(path: path, configuration: config)
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
        }
        try Self.migrator.migrate(queue)
        self.db = queue
    }

    /// Opens a private in-memory database (tests).
    public init() throws {
        let queue = try DatabaseQueue()
        try Self.migrator.migrate(queue)
        self.db = queue
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: builds, deployments, environments") { db in
            try db.execute(
                sql: """
                    CREATE TABLE builds (
                        id TEXT PRIMARY KEY,
                        site TEXT NOT NULL,
                        branch TEXT NOT NULL,
                        commit_id TEXT NOT NULL,
                        commit_message TEXT NOT NULL DEFAULT '',
                        status TEXT NOT NULL,
                        queued_at REAL NOT NULL,
                        started_at REAL,
                        finished_at REAL,
                        deployment_id TEXT,
                        error TEXT,
                        log_path TEXT NOT NULL
                    );
                    CREATE INDEX builds_by_branch ON builds(site, branch, queued_at);
                    CREATE TABLE deployments (
                        id TEXT PRIMARY KEY,
                        site TEXT NOT NULL,
                        branch TEXT NOT NULL,
                        commit_id TEXT NOT NULL,
                        commit_message TEXT NOT NULL DEFAULT '',
                        commit_time REAL NOT NULL,
                        created_at REAL NOT NULL,
                        build_id TEXT NOT NULL,
                        file_count INTEGER NOT NULL,
                        total_bytes INTEGER NOT NULL,
                        removed_at REAL
                    );
                    CREATE INDEX deployments_by_branch ON deployments(site, branch, created_at);
                    CREATE TABLE environments (
                        site TEXT NOT NULL,
                        branch TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        head_commit TEXT,
                        active_deployment TEXT REFERENCES deployments(id),
                        pinned INTEGER NOT NULL DEFAULT 0,
                        deleted_at REAL,
                        updated_at REAL NOT NULL,
                        PRIMARY KEY (site, branch)
                    );
                    CREATE TABLE activations (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        site TEXT NOT NULL,
                        branch TEXT NOT NULL,
                        deployment_id TEXT NOT NULL REFERENCES deployments(id),
                        at REAL NOT NULL,
                        reason TEXT NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v2: traffic policies, rollouts, audit log") { db in
            try db.execute(
                sql: """
                    CREATE TABLE host_policies (
                        hostname TEXT PRIMARY KEY,
                        site TEXT NOT NULL,
                        targets TEXT NOT NULL,
                        updated_at REAL NOT NULL
                    );
                    CREATE TABLE rollouts (
                        site TEXT NOT NULL,
                        branch TEXT NOT NULL,
                        from_deployment TEXT,
                        to_deployment TEXT NOT NULL,
                        strategy TEXT NOT NULL,
                        percent INTEGER NOT NULL,
                        status TEXT NOT NULL,
                        started_at REAL NOT NULL,
                        next_step_at REAL,
                        message TEXT,
                        updated_at REAL NOT NULL,
                        PRIMARY KEY (site, branch)
                    );
                    CREATE TABLE audit_log (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        at REAL NOT NULL,
                        actor TEXT NOT NULL,
                        action TEXT NOT NULL,
                        target TEXT NOT NULL,
                        before TEXT,
                        after TEXT
                    );
                    """)
        }
        return migrator
    }
}
