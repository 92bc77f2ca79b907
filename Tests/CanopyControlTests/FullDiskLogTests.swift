import Foundation
import Testing

@testable import CanopyControl

/// Issue 15 item 8: the control plane's build-log writer trapped (`FileHandle.write` is a `try!`)
/// when a line needed a block the full disk did not have, and took the server down. It now writes
/// through `BuildLog` (plain `write`, a failed line dropped).
struct FullDiskLogTests {
    @Test func aLineThatDoesNotFitIsDroppedNotFatal() async throws {
        guard getuid() == 0 else {
            print("FullDiskLogTests: skipped (mounting a tmpfs needs root)")
            return
        }
        let mount = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-full-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: mount) }
        try run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=256k", "canopy-full", mount])
        defer { try? run("/usr/bin/umount", ["-l", mount]) }

        // A log that fills its page exactly, then a disk with no page left.
        let path = mount + "/build.log"
        try Data(repeating: 0x61, count: 4096).write(to: URL(fileURLWithPath: path))
        let blocking = BlockingExecutor(threads: 1)
        let (log, _) = try await BuildLogWriter.open(path: path, secrets: [], blocking: blocking)
        try? run("/usr/bin/dd", ["if=/dev/zero", "of=\(mount)/filler", "bs=4k"])
        var st = statvfs()
        #expect(statvfs(mount, &st) == 0 && st.f_bavail == 0)

        await log.append("Build failed: the disk is full")
        // The line could not be written, and the process is still here to say so.
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
        #expect(size == 4096)

        // With room again, lines are appended.
        try FileManager.default.removeItem(atPath: mount + "/filler")
        await log.append("next line")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasSuffix("next line\n"))
    }

    func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CanopyError("\(executable) \(arguments) failed") }
    }
}
