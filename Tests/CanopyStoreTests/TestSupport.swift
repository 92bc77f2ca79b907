@_exported import CanopyTestSupport
import Foundation

/// Runs a child process and returns its standard output; fails on a non-zero exit.
func run(_ executable: String, _ arguments: [String]) throws -> Data {
    let (status, output) = try runProcess([executable] + arguments, discardingErrors: true)
    guard status == 0 else { throw TestFailure("\(executable) exited \(status)") }
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
