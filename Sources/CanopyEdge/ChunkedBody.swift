import NIOCore

/// A streaming decoder of a chunked request body (RFC 9112 §7.1), fed the bytes of the
/// connection as they are read. Chunk data leaves as slices of the input (never copied or
/// gathered), so memory stays bounded by one read whatever the body's size; only a chunk-size line
/// or a trailer line that spans two reads is carried over, up to `maxLine` bytes.
///
/// Strict where laxness lets two parsers disagree on where a body ends (request smuggling): the
/// size is hexadecimal digits only (no sign, no `0x`, no spaces before an extension's `;`),
/// every line ends with CRLF (a bare LF or CR is refused), the CRLF after each chunk's data is
/// required, a size that does not fit in 60 bits is refused, and trailer lines must be fields.
/// Extensions are allowed (RFC 9112 §7.1.1) and ignored, as are trailer fields (§7.1.2: a
/// recipient may discard them).
struct ChunkedBody {
    /// Why the bytes are not a chunked body: the request is answered 400 and the connection closes.
    struct Malformed: Error {
        let reason: String
    }

    /// A chunk-size line (extensions included) or one trailer line may be this long.
    static let maxLine = 4 << 10
    /// The trailer section may be this long in all.
    static let maxTrailer = RequestParser.maxHead

    private enum State {
        /// Reading a chunk-size line (into `line`).
        case size
        /// Inside a chunk's data: this many bytes to go.
        case data(Int)
        /// After a chunk's data: its CRLF (the bytes of it seen so far are in `line`).
        case dataEnd
        /// After the last chunk: trailer lines until an empty one.
        case trailer
        case done
    }

    private var state = State.size
    private var line: [UInt8] = []
    private var trailerBytes = 0
    /// Chunk data bytes decoded so far.
    private(set) var decoded = 0

    /// The last chunk and the trailer section have been read.
    var isFinished: Bool {
        if case .done = state { return true }
        return false
    }

    /// Reads from `input` until the body ends (the rest stays in `input`: a pipelined request) or
    /// the input is used up; `data` receives each piece of chunk data in order.
    mutating func consume(_ input: inout ByteBuffer, data: (ByteBuffer) -> Void) throws(Malformed) {
        while input.readableBytes > 0 {
            switch state {
            case .done:
                return
            case .data(let remaining):
                let n = min(remaining, input.readableBytes)
                data(input.readSlice(length: n)!)
                decoded += n
                state = remaining == n ? .dataEnd : .data(remaining - n)
            case .dataEnd:
                let byte = input.readInteger(as: UInt8.self)!
                guard byte == (line.isEmpty ? Self.cr : Self.lf) else {
                    throw Malformed(reason: "A chunk's data must be followed by CRLF.")
                }
                if line.isEmpty {
                    line.append(byte)
                } else {
                    line.removeAll(keepingCapacity: true)
                    state = .size
                }
            case .size, .trailer:
                guard let complete = try readLine(&input) else { return }
                if case .size = state {
                    let size = try Self.chunkSize(complete)
                    state = size == 0 ? .trailer : .data(size)
                } else if complete.isEmpty {
                    state = .done
                } else {
                    try Self.checkTrailerField(complete)
                }
                line.removeAll(keepingCapacity: true)
            }
        }
    }

    /// Moves bytes into `line` up to its LF; the line without its CRLF once complete, nil before.
    private mutating func readLine(_ input: inout ByteBuffer) throws(Malformed) -> [UInt8]? {
        let view = input.readableBytesView
        let lf = view.firstIndex(of: Self.lf)
        let end = lf.map { view.index(after: $0) } ?? view.endIndex
        let taken = end - view.startIndex
        guard line.count + taken <= Self.maxLine else {
            throw Malformed(reason: "A chunk-size or trailer line is too long.")
        }
        if case .trailer = state {
            trailerBytes += taken
            guard trailerBytes <= Self.maxTrailer else { throw Malformed(reason: "The chunked trailer is too large.") }
        }
        line.append(contentsOf: view[view.startIndex..<end])
        input.moveReaderIndex(forwardBy: taken)
        guard lf != nil else { return nil }
        guard line.count >= 2, line[line.count - 2] == Self.cr else {
            throw Malformed(reason: "Lines of a chunked body must end with CRLF.")
        }
        let text = line.dropLast(2)
        guard !text.contains(where: { ($0 < 0x20 && $0 != Self.htab) || $0 == 0x7F }) else {
            throw Malformed(reason: "A chunk-size or trailer line holds a control character.")
        }
        return Array(text)
    }

    /// `chunk-size [ chunk-ext ]`: hexadecimal digits, then nothing or BWS `;` and extensions.
    static func chunkSize(_ line: [UInt8]) throws(Malformed) -> Int {
        var size = 0
        var digits = 0
        for byte in line {
            let value: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = Int(byte - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = Int(byte - UInt8(ascii: "A")) + 10
            default: value = -1
            }
            if value < 0 { break }
            guard size < 1 << 56 else { throw Malformed(reason: "A chunk size is too large.") }
            size = size << 4 | value
            digits += 1
        }
        guard digits > 0 else { throw Malformed(reason: "A chunk size must be hexadecimal digits.") }
        let rest = line[digits...]
        guard rest.isEmpty || rest.drop(while: { $0 == UInt8(ascii: " ") || $0 == htab }).first == UInt8(ascii: ";")
        else { throw Malformed(reason: "A chunk size must be hexadecimal digits, then extensions after ';'.") }
        return size
    }

    /// A trailer line is a field: a token, then `:`.
    private static func checkTrailerField(_ line: [UInt8]) throws(Malformed) {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0,
            line[..<colon].allSatisfy(RequestParser.isToken)
        else { throw Malformed(reason: "A chunked trailer line is not a header field.") }
    }

    private static let cr: UInt8 = 0x0D
    private static let lf: UInt8 = 0x0A
    private static let htab: UInt8 = 0x09
}
