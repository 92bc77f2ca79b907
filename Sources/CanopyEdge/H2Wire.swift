import NIOCore

/// HTTP/2's wire vocabulary (RFC 9113 §6, §7, §11.2): frame types, flags, error codes and settings,
/// and the frames the edge writes, appended to one output buffer.
enum H2 {
    static let preface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    enum FrameType: UInt8 {
        case data = 0, headers, priority, rstStream, settings, pushPromise, ping, goAway, windowUpdate, continuation
    }

    enum Flag {
        static let endStream: UInt8 = 0x1
        static let ack: UInt8 = 0x1
        static let endHeaders: UInt8 = 0x4
        static let padded: UInt8 = 0x8
        static let priority: UInt8 = 0x20
    }

    enum ErrorCode: UInt32 {
        case noError = 0, protocolError, internalError, flowControlError, settingsTimeout, streamClosed
        case frameSizeError, refusedStream, cancel, compressionError, connectError, enhanceYourCalm
    }

    enum Setting: UInt16 {
        case headerTableSize = 1, enablePush, maxConcurrentStreams, initialWindowSize, maxFrameSize, maxHeaderListSize
    }

    /// The frame size every peer accepts, and the largest the edge reads (it never raises it).
    static let defaultMaxFrameSize = 16_384
    static let defaultWindow = 65_535
    static let maxWindow = Int(Int32.max)

    /// Appends a frame header (RFC 9113 §4.1).
    @inline(__always)
    static func writeHeader(_ out: inout ByteBuffer, length: Int, type: FrameType, flags: UInt8, stream: UInt32) {
        out.writeInteger(UInt32(length) << 8 | UInt32(type.rawValue))
        out.writeInteger(flags)
        out.writeInteger(stream & 0x7FFF_FFFF)
    }

    static func writeSettings(_ out: inout ByteBuffer, _ settings: [(Setting, UInt32)]) {
        writeHeader(&out, length: settings.count * 6, type: .settings, flags: 0, stream: 0)
        for (setting, value) in settings {
            out.writeInteger(setting.rawValue)
            out.writeInteger(value)
        }
    }

    static func writeRSTStream(_ out: inout ByteBuffer, stream: UInt32, _ code: ErrorCode) {
        writeHeader(&out, length: 4, type: .rstStream, flags: 0, stream: stream)
        out.writeInteger(code.rawValue)
    }

    static func writeGoAway(_ out: inout ByteBuffer, lastStream: UInt32, _ code: ErrorCode) {
        writeHeader(&out, length: 8, type: .goAway, flags: 0, stream: 0)
        out.writeInteger(lastStream & 0x7FFF_FFFF)
        out.writeInteger(code.rawValue)
    }

    static func writeWindowUpdate(_ out: inout ByteBuffer, stream: UInt32, increment: Int) {
        writeHeader(&out, length: 4, type: .windowUpdate, flags: 0, stream: stream)
        out.writeInteger(UInt32(increment))
    }

    /// An error that ends the connection (GOAWAY with `code`).
    struct ConnectionError: Error {
        let code: ErrorCode
        let reason: String
        init(_ code: ErrorCode, _ reason: String) {
            self.code = code
            self.reason = reason
        }
    }
}
