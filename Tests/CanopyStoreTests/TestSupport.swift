import Foundation

/// A temporary folder removed when the test ends.
final class TempFolder: Sendable {
    let path: String

    init() throws {
        path =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("canopy-store-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `data` at `relative` (creating folders) and returns the full path.
    @discardableResult
    func write(_ relative: String, _ data: Data) throws -> String {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: full))
        return full
    }

    @discardableResult
    func write(_ relative: String, _ text: String) throws -> String {
        try write(relative, Data(text.utf8))
    }
}

/// Runs a child process and returns its standard output; fails on a non-zero exit.
func run(_ executable: String, _ arguments: [String]) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw NSError(domain: "child", code: Int(process.terminationStatus))
    }
    return output
}

/// SHA-256 of a file as computed by coreutils, independent of the code under test.
func sha256sum(_ path: String) throws -> String {
    let output = String(decoding: try run("/usr/bin/sha256sum", [path]), as: UTF8.self)
    return String(output.prefix(64))
}

/// Decompresses a gzip file with the system `gzip`.
func gunzip(_ path: String) throws -> Data {
    try run("/usr/bin/gzip", ["-dc", path])
}

/// Number of blob files in a store.
func blobCount(_ root: String) throws -> Int {
    let blobs = root + "/blobs"
    var count = 0
    for prefix in try FileManager.default.contentsOfDirectory(atPath: blobs) {
        count += try FileManager.default.contentsOfDirectory(atPath: blobs + "/" + prefix).count
    }
    return count
}

/// Deterministic bytes that do not compress (a simple xorshift stream).
func noise(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> Data {
    var state = seed
    var bytes = [UInt8]()
    bytes.reserveCapacity(count)
    for _ in 0..<count {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        bytes.append(UInt8(truncatingIfNeeded: state))
    }
    return Data(bytes)
}

/// Compressible text of about `count` bytes.
func text(_ count: Int) -> String {
    var s = "<!doctype html>\n"
    var i = 0
    while s.utf8.count < count {
        s += "<p>Paragraph \(i) of the page, with some repeated words words words.</p>\n"
        i += 1
    }
    return s
}
