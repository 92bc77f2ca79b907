import Foundation

/// Runs `arguments` (found on PATH) to completion: its exit status and its output (standard error
/// merged into it unless `discardingErrors`). The one process runner of the test targets.
public func runProcess(
    _ arguments: [String], cwd: String? = nil, environment: [String: String] = [:], discardingErrors: Bool = false
) throws -> (status: Int32, output: Data) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = discardingErrors ? FileHandle.nullDevice : pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, output)
}

/// A fixed git author and committer, no system configuration.
public let gitIdentity = [
    "GIT_AUTHOR_NAME": "Canopy Test", "GIT_AUTHOR_EMAIL": "test@canopy.test", "GIT_COMMITTER_NAME": "Canopy Test",
    "GIT_COMMITTER_EMAIL": "test@canopy.test", "GIT_CONFIG_NOSYSTEM": "1",
]

/// Runs a command to completion and returns its output; throws with the output when it fails.
@discardableResult
public func sh(
    _ arguments: [String], cwd: String? = nil, environment: [String: String] = [:], allowFailure: Bool = false
)
    throws -> String
{
    let (status, data) = try runProcess(
        arguments, cwd: cwd, environment: gitIdentity.merging(environment) { _, new in new })
    let output = String(decoding: data, as: UTF8.self)
    if status != 0 && !allowFailure {
        throw TestFailure("`\(arguments.joined(separator: " "))` exited \(status):\n\(output)")
    }
    return output
}

public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Polls `condition` until it holds or `timeout` passes. Generous timeouts: CI machines are slow.
public func waitUntil(
    _ what: String, timeout: Duration = .seconds(60), interval: Duration = .milliseconds(100),
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    var lastError: Error?
    while ContinuousClock.now < deadline {
        do {
            if try await condition() { return }
        } catch {
            lastError = error
        }
        try await Task.sleep(for: interval)
    }
    throw TestFailure("timed out waiting for: \(what)\(lastError.map { " (last error: \($0))" } ?? "")")
}

/// A fresh temporary folder, removed by `remove()`.
public func makeTemporaryDirectory(_ label: String) throws -> String {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("canopy-\(label)-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return (path as NSString).resolvingSymlinksInPath
}

/// The package root, found from this file's path.
public let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
    }
    return FileManager.default.currentDirectoryPath
}()

/// The `canopy` binary under test: CANOPY_BIN, else the debug build.
public let canopyBinary: String = {
    if let bin = ProcessInfo.processInfo.environment["CANOPY_BIN"] { return bin }
    return packageRoot + "/.build/debug/canopy"
}()
