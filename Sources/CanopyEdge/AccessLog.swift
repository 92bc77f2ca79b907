import Foundation
import NIOConcurrencyHelpers

/// The optional access log, in the combined log format with the virtual host first
/// (`host remote - - [time] "GET /path HTTP/1.1" 200 1234 "referer" "agent" https`), the scheme
/// last (`http` or `https`: with the version, which protocol served the request). Lines are queued by
/// the event loops and written by one writer thread the log owns, so the request path never waits
/// on a file. `finish()` (the control plane's `AccessLogService`, at graceful shutdown) writes what
/// is queued and returns once it is in the file.
public final class AccessLog: Sendable {
    private struct State {
        var pending: [String] = []
        var stopping = false
        var finished = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = NIOLockedValueBox(State())
    /// Signalled to wake the writer early (at `close()`), instead of at its next 0.2 s tick.
    private let wake = DispatchSemaphore(value: 0)

    /// `path` is a file (appended to) or `-` for standard output.
    public init(path: String) throws {
        let handle: FileHandle
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
        let state = self.state
        let wake = self.wake
        let thread = Thread {
            Self.write(state: state, wake: wake, to: handle, closing: path != "-")
        }
        thread.start()
    }

    /// The writer thread: writes what is queued every 0.2 s (or when woken) until asked to stop and
    /// nothing is left; then closes the file and resumes those waiting in `finish()`.
    private static func write(
        state: NIOLockedValueBox<State>, wake: DispatchSemaphore, to handle: FileHandle, closing: Bool
    ) {
        while true {
            let (lines, stopping) = state.withLockedValue { state in
                defer { state.pending.removeAll(keepingCapacity: true) }
                return (state.pending, state.stopping)
            }
            // `write(_:)` traps on an error (a full disk); lines that cannot be written are dropped.
            if !lines.isEmpty { try? handle.write(contentsOf: Data(lines.joined().utf8)) }
            if stopping && lines.isEmpty { break }
            if !stopping { _ = wake.wait(timeout: .now() + 0.2) }
        }
        if closing { try? handle.close() }
        let waiters = state.withLockedValue { state in
            state.finished = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func record(
        host: String, remote: String, method: String, uri: String, version: String, status: Int, bytes: Int,
        referer: String?, agent: String?, scheme: String = "http"
    ) {
        let time = Self.timestamp()
        let line =
            "\(Self.escape(host, space: true)) \(remote) - - [\(time)] \"\(Self.escape(method, space: true)) \(Self.escape(uri)) \(Self.escape(version, space: true))\" \(status) \(bytes) \"\(referer.map { Self.escape($0) } ?? "-")\" \"\(agent.map { Self.escape($0) } ?? "-")\" \(scheme)\n"
        state.withLockedValue { $0.pending.append(line) }
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

    /// Asks the writer to write what is queued and stop; returns at once. Lines recorded later are dropped.
    public func close() {
        state.withLockedValue { $0.stopping = true }
        wake.signal()
    }

    /// Writes what is queued, stops the writer and returns when the lines are in the file.
    public func finish() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let finished = state.withLockedValue { state in
                state.stopping = true
                if !state.finished { state.waiters.append(waiter) }
                return state.finished
            }
            wake.signal()
            if finished { waiter.resume() }
        }
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
