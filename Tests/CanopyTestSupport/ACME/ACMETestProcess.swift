import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A child process a test starts (pebble, pebble-challtestsrv, named), its output kept in a log
/// file, killed by ``stop()``.
public final class ACMETestProcess {
    public let process: Process
    public let logPath: String
    public let name: String

    /// Starts `executable` with `arguments`; output goes to `logPath`.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], logPath: String
    ) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process
        self.logPath = logPath
        self.name = (executable as NSString).lastPathComponent
    }

    /// The output so far.
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Waits until something accepts TCP connections on 127.0.0.1:`port`.
    public func waitForPort(_ port: Int, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !process.isRunning { throw TestFailure("\(name) exited early:\n\(log)") }
            if ACMETestPorts.canConnect(port) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("\(name) did not listen on port \(port) within \(timeout):\n\(log)")
    }

    /// Kills the process and waits for it.
    public func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}

/// Free loopback ports and connection checks.
public enum ACMETestPorts {
    /// Ports already given out by `free()` in this process: the kernel may offer a released port
    /// again at once, and two servers of one test (Pebble and its DNS) were once given the same.
    private static let given = Mutex<Set<Int>>([])

    /// A port nothing listens on right now (bound to 0 and released), for TCP and UDP alike, and
    /// never one this process was given before.
    public static func free() -> Int {
        while true {
            let port = tcpFree()
            guard udpFree(port) else { continue }
            if given.withLock({ $0.insert(port).inserted }) { return port }
        }
    }

    public static func tcpFree() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = loopback(port: 0)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    public static func udpFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        } == 0
    }

    public static func canConnect(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        } == 0
    }

    public static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}

/// A temporary folder removed by ``remove()``.
public struct ACMETestFolder {
    public let path: String

    public init(_ prefix: String) throws {
        path = NSTemporaryDirectory() + "canopy-\(prefix)-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}
