import Foundation

/// A real `canopy serve` process with its own Sites folder and data folder, on ephemeral ports.
final class CanopyInstance: @unchecked Sendable {
    // @unchecked: the test owning an instance drives it from one task at a time.
    let root: String
    let sites: String
    let data: String
    private var process: Process?
    private(set) var edgePort = 0
    private(set) var adminPort = 0
    let logPath: String
    /// `--build-uids` when started with `--build-user`: one range per instance, as servers that run
    /// at once need (each ends every process of its range).
    let buildUIDs: ClosedRange<UInt32> = {
        let first = 1_700_000_000 + UInt32.random(in: 0..<100_000) * 100
        return first...(first + 99)
    }()

    init(_ label: String) throws {
        root = try makeTemporaryDirectory(label)
        sites = root + "/Sites"
        data = root + "/data"
        logPath = root + "/server.log"
        try FileManager.default.createDirectory(atPath: sites, withIntermediateDirectories: true)
    }

    /// Writes `Sites/<name>.yml`.
    func writeSite(_ name: String, _ yaml: String) throws {
        try yaml.write(toFile: sites + "/\(name).yml", atomically: true, encoding: .utf8)
    }

    /// Starts the server and waits until both listeners are up. With `ports` (edge, admin) it listens
    /// there and is waited for by connecting, not by its address files (which a full disk keeps it
    /// from writing).
    func start(
        extraArguments: [String] = [], ports: (edge: Int, admin: Int)? = nil, environment: [String: String] = [:]
    ) async throws {
        try? FileManager.default.removeItem(atPath: data + "/edge.address")
        try? FileManager.default.removeItem(atPath: data + "/admin.address")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: canopyBinary)
        process.arguments =
            [
                "serve", "--sites", sites, "--data", data, "--listen", "127.0.0.1:\(ports?.edge ?? 0)",
                "--admin", "127.0.0.1:\(ports?.admin ?? 0)", "--poll", "1", "--log-level", "debug",
            ] + extraArguments
            + (extraArguments.contains("--build-user") && !extraArguments.contains("--build-uids")
                ? ["--build-uids", "\(buildUIDs.lowerBound)-\(buildUIDs.upperBound)"] : [])
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        if !FileManager.default.fileExists(atPath: logPath) {
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process
        if let ports {
            try await waitUntil("canopy serve to listen on \(ports) (log: \(logPath))", timeout: .seconds(60)) {
                guard process.isRunning else { throw TestFailure("canopy serve exited:\n\(self.serverLog)") }
                for port in [ports.edge, ports.admin] {
                    guard let fd = try? connectLoopback(port: port) else { return false }
                    close(fd)
                }
                (self.edgePort, self.adminPort) = ports
                return true
            }
            return
        }
        try await waitUntil("canopy serve to start (log: \(logPath))", timeout: .seconds(60)) {
            guard process.isRunning else { throw TestFailure("canopy serve exited:\n\(self.serverLog)") }
            guard let edge = try? String(contentsOfFile: self.data + "/edge.address", encoding: .utf8),
                let admin = try? String(contentsOfFile: self.data + "/admin.address", encoding: .utf8)
            else { return false }
            self.edgePort =
                Int(edge.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ":").last ?? "") ?? 0
            self.adminPort =
                Int(admin.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ":").last ?? "") ?? 0
            return self.edgePort > 0 && self.adminPort > 0
        }
    }

    /// Graceful stop (SIGTERM): the exit status, or nil when the process was still running after
    /// `timeout` (it is then killed).
    func stop(timeout: Duration = .seconds(20)) async throws -> Int32? {
        guard let process, process.isRunning else { return process?.terminationStatus }
        process.terminate()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        guard !process.isRunning else {
            kill9()
            return nil
        }
        return process.terminationStatus
    }

    /// `kill -9`: no chance to clean up.
    func kill9() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// True while the server process runs.
    var isRunning: Bool { process?.isRunning ?? false }
    /// The server's process id (0 before start).
    var pid: Int32 { process?.processIdentifier ?? 0 }

    var serverLog: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    var adminToken: String {
        ((try? String(contentsOfFile: data + "/admin.token", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// GET on the edge with a Host header.
    func get(_ host: String, _ path: String = "/", headers: [String: String] = [:]) throws -> HTTPResult {
        try TestHTTP.request(port: edgePort, path: path, host: host, headers: headers)
    }

    /// A GET on the admin API with the token.
    func admin(_ path: String) throws -> HTTPResult {
        try admin("GET", path)
    }

    /// A call to the admin API with the token.
    func admin(_ method: String, _ path: String, json: String? = nil, token: String? = nil) throws -> HTTPResult {
        var headers = ["Authorization": "Bearer \(token ?? adminToken)"]
        if json != nil { headers["Content-Type"] = "application/json" }
        return try TestHTTP.request(
            method, port: adminPort, path: path, host: "127.0.0.1", headers: headers, body: json.map { Data($0.utf8) })
    }

    /// The builds the server reports, newest first.
    func builds(branch: String? = nil) throws -> [[String: Any]] {
        let path = "/api/v1/builds?limit=200" + (branch.map { "&branch=\($0)" } ?? "")
        let result = try admin(path)
        return (try JSONSerialization.jsonObject(with: result.body) as? [[String: Any]]) ?? []
    }

    /// Runs the CLI against this server.
    func cli(_ arguments: [String], allowFailure: Bool = false) throws -> String {
        try sh([canopyBinary] + arguments + ["--data", data], allowFailure: allowFailure)
    }

    /// Waits until `host` serves a body containing `text`.
    func waitForContent(
        _ host: String, _ text: String, path: String = "/", timeout: Duration = .seconds(90)
    ) async throws {
        try await waitUntil(
            "\(host)\(path) to serve '\(text)'\n--- server log tail ---\n\(serverLogTail)", timeout: timeout
        ) {
            let r = try self.get(host, path)
            return r.status == 200 && r.text.contains(text)
        }
    }

    var serverLogTail: String { serverLog.split(separator: "\n").suffix(40).joined(separator: "\n") }

    deinit {
        if let process, process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        removeBuildCgroups()
        try? FileManager.default.removeItem(atPath: root)
    }

    /// The folder of build cgroups a `--build-user` server makes under this process's cgroup
    /// (`canopy-builds-FIRST-LAST`), which a killed server leaves (empty once its builds ended).
    private func removeBuildCgroups() {
        let name = "canopy-builds-\(buildUIDs.lowerBound)-\(buildUIDs.upperBound)"
        let own = (try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) ?? ""
        for path in Set(own.split(separator: "\n").compactMap { $0.split(separator: ":", maxSplits: 2).last }) {
            for hierarchy in ["", "/unified", "/memory", "/pids"] {
                let folder = "/sys/fs/cgroup" + hierarchy + (path == "/" ? "" : String(path)) + "/" + name
                for build in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
                where build.hasPrefix("build-") {
                    rmdir(folder + "/" + build)
                }
                rmdir(folder)
            }
        }
    }
}
