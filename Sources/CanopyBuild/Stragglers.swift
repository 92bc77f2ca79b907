import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Processes a stage left running outside its process group (`setsid`, a daemon that detached):
/// the group kill misses them, so they are found by the `CANOPY_BUILD_ID` every build process
/// inherits, and killed. A process that cleared its environment is not found this way.
enum Stragglers {
    /// Kills them; returns how many there were.
    static func kill(buildID: String) -> Int {
        let marker = Array("CANOPY_BUILD_ID=\(buildID)".utf8)
        let server = getpid()
        var killed = 0
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(name), pid > 1, pid != server,
                let environment = readAll("/proc/\(name)/environ"),
                environment.split(separator: 0).contains(where: { $0.elementsEqual(marker) })
            else { continue }
            if Glibc.kill(pid, SIGKILL) == 0 { killed += 1 }
        }
        return killed
    }

    /// A whole /proc file (they report a size of 0, so read to the end).
    private static func readAll(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk[0..<count]
        }
        return bytes
    }
}
