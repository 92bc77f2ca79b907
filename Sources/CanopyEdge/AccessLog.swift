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
        let line =
            "\(Self.escape(host, space: true)) \(remote) - - [\(time)] \"\(Self.escape(method, space: true)) \(Self.escape(uri)) \(Self.escape(version, space: true))\" \(status) \(bytes) \"\(referer.map { Self.escape($0) } ?? "-")\" \"\(agent.map { Self.escape($0) } ?? "-")\" \(scheme)\n"
        pending.withLockedValue { $0.append(line) }
    }

    /// A request-supplied value as nginx's `escape=default` writes it: `"`, `\`, control bytes and
    /// bytes above 126 become `\xHH`, so no value can end its field, its line, or forge another
    /// (and `space` also escapes spaces, for the fields outside quotes: the host, method and version).
    static func escape(_ value: String, space: Bool = false) -> String {
        func plain(_ byte: UInt8) -> Bool {
            byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\")
                || (byte == 0x20 && !space)
        }
        guard !value.utf8.allSatisfy(plain) else { return value }
        let hex = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        for byte in value.utf8 {
            if plain(byte) {
                bytes.append(byte)
            } else {
                bytes += [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
        }
        return String(decoding: bytes, as: UTF8.self)
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
