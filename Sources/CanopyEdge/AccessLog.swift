import Foundation
import NIOConcurrencyHelpers

/// The optional access log, in the combined log format with the virtual host first
/// (`host remote - - [time] "GET /path HTTP/1.1" 200 1234 "referer" "agent" https`), the scheme
/// last (`http` or `https`: with the version, which protocol served the request). Lines are queued by
/// the event loops and written by one background thread, so the request path never waits on a file.
public final class AccessLog: Sendable {
    private let pending = NIOLockedValueBox<[String]>([])
    private let handle: FileHandle
    private let stop = NIOLockedValueBox(false)

    /// `path` is a file (appended to) or `-` for standard output.
    public init(path: String) throws {
        if path == "-" {
            handle = FileHandle.standardOutput
        } else {
            if !FileManager.default.fileExists(atPath: path) {
                _ = FileManager.default.createFile(atPath: path, contents: nil)
            }
            guard let file = FileHandle(forWritingAtPath: path) else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
            }
            file.seekToEndOfFile()
            handle = file
        }
        let pending = self.pending
        let stop = self.stop
        let handle = self.handle
        let thread = Thread {
            while true {
                let lines = pending.withLockedValue { lines in
                    defer { lines.removeAll(keepingCapacity: true) }
                    return lines
                }
                // `write(_:)` traps on an error (a full disk); lines that cannot be written are dropped.
                if !lines.isEmpty { try? handle.write(contentsOf: Data(lines.joined().utf8)) }
                if stop.withLockedValue({ $0 }) && lines.isEmpty { break }
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        thread.start()
    }

    func record(
        host: String, remote: String, method: String, uri: String, version: String, status: Int, bytes: Int,
        referer: String?, agent: String?, scheme: String = "http"
    ) {
        let time = Self.timestamp()
        func quote(_ s: String?) -> String {
            guard let s else { return "-" }
            return s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        }
        let line =
            "\(host) \(remote) - - [\(time)] \"\(method) \(quote(uri)) \(version)\" \(status) \(bytes) \"\(quote(referer))\" \"\(quote(agent))\" \(scheme)\n"
        pending.withLockedValue { $0.append(line) }
    }

    /// Writes what is queued and stops the writer.
    public func close() {
        stop.withLockedValue { $0 = true }
    }

    static func timestamp() -> String {
        var t = time(nil)
        var parts = tm()
        gmtime_r(&t, &parts)
        var buffer = [CChar](repeating: 0, count: 40)
        _ = strftime(&buffer, buffer.count, "%d/%b/%Y:%H:%M:%S +0000", &parts)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
