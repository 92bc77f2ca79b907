import Foundation

/// One resource record, with its data left as wire bytes (names inside decoded where needed).
public struct DNSRecord: Sendable, Hashable {
    /// The owner name, lowercase, without the trailing dot.
    public var name: String
    /// The record type (``DNSMessage/RecordType``'s raw values).
    public var type: UInt16
    /// The class: 1 IN, 254 NONE, 255 ANY.
    public var dnsClass: UInt16
    /// The time to live.
    public var ttl: UInt32
    /// The record data as on the wire.
    public var data: [UInt8]
    /// For CNAME, NS and SOA records: the first name in the data, decompressed.
    public var targetName: String?
    /// Where the record started in the message it was read from (TSIG verification needs it).
    var offset: Int = 0

    /// Creates a record.
    public init(name: String, type: UInt16, dnsClass: UInt16 = 1, ttl: UInt32 = 0, data: [UInt8] = []) {
        self.name = DNSMessage.normalise(name)
        self.type = type
        self.dnsClass = dnsClass
        self.ttl = ttl
        self.data = data
    }

    /// A TXT record's strings joined (RFC 1035 §3.3.14 character-strings).
    public var txtValue: String {
        var result: [UInt8] = []
        var index = 0
        while index < data.count {
            let length = Int(data[index])
            result += data[min(index + 1, data.count)..<min(index + 1 + length, data.count)]
            index += 1 + length
        }
        return String(decoding: result, as: UTF8.self)
    }

    /// TXT data for `value`, split into 255-byte character-strings.
    public static func txtData(_ value: String) -> [UInt8] {
        let bytes = [UInt8](value.utf8)
        var data: [UInt8] = []
        var start = 0
        repeat {
            let chunk = bytes[start..<min(start + 255, bytes.count)]
            data.append(UInt8(chunk.count))
            data += chunk
            start += 255
        } while start < bytes.count
        return data
    }
}

/// A DNS message (RFC 1035 §4.1); for an UPDATE (RFC 2136 §2) the four sections are zone,
/// prerequisite, update and additional.
public struct DNSMessage: Sendable {
    /// Record types this code uses.
    public enum RecordType: UInt16, Sendable {
        case a = 1, ns = 2, cname = 5, soa = 6, txt = 16, aaaa = 28, tsig = 250, any = 255
    }

    /// The message id.
    public var id: UInt16
    /// QR, opcode, AA, TC, RD, RA, Z and RCODE.
    public var flags: UInt16
    /// Questions (for UPDATE: the zone).
    public var questions: [DNSRecord] = []
    /// Answers (for UPDATE: prerequisites).
    public var answers: [DNSRecord] = []
    /// Authority records (for UPDATE: the updates).
    public var authorities: [DNSRecord] = []
    /// Additional records (TSIG comes last here).
    public var additionals: [DNSRecord] = []

    /// Creates a message.
    public init(id: UInt16, flags: UInt16) {
        self.id = id
        self.flags = flags
    }

    /// The response code (low four bits).
    public var rcode: UInt16 { flags & 0x000F }
    /// Whether the answer was truncated (UDP).
    public var truncated: Bool { flags & 0x0200 != 0 }
    /// The opcode.
    public var opcode: UInt16 { (flags >> 11) & 0x0F }

    /// The wire form. Names are written uncompressed.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        Self.append16(&out, id)
        Self.append16(&out, flags)
        for count in [questions.count, answers.count, authorities.count, additionals.count] {
            Self.append16(&out, UInt16(count))
        }
        for question in questions {
            out += Self.wireName(question.name)
            Self.append16(&out, question.type)
            Self.append16(&out, question.dnsClass)
        }
        for record in answers + authorities + additionals {
            out += Self.wireName(record.name)
            Self.append16(&out, record.type)
            Self.append16(&out, record.dnsClass)
            Self.append32(&out, record.ttl)
            Self.append16(&out, UInt16(record.data.count))
            out += record.data
        }
        return out
    }

    /// Reads a message; throws ``DNSError/malformed(_:)`` on anything short or looping.
    public static func decode(_ bytes: [UInt8]) throws -> DNSMessage {
        var reader = DNSReader(bytes: bytes)
        var message = DNSMessage(id: try reader.read16(), flags: try reader.read16())
        let counts = [try reader.read16(), try reader.read16(), try reader.read16(), try reader.read16()]
        for _ in 0..<counts[0] {
            let name = try reader.readName()
            message.questions.append(DNSRecord(name: name, type: try reader.read16(), dnsClass: try reader.read16()))
        }
        message.answers = try (0..<counts[1]).map { _ in try reader.readRecord() }
        message.authorities = try (0..<counts[2]).map { _ in try reader.readRecord() }
        message.additionals = try (0..<counts[3]).map { _ in try reader.readRecord() }
        return message
    }

    // MARK: Wire helpers

    /// Lowercase, no trailing dot.
    static func normalise(_ name: String) -> String {
        var lower = name.lowercased()
        while lower.hasSuffix(".") { lower.removeLast() }
        return lower
    }

    /// A name in uncompressed, lowercase (canonical) wire form.
    static func wireName(_ name: String) -> [UInt8] {
        var out: [UInt8] = []
        for label in normalise(name).split(separator: ".", omittingEmptySubsequences: true) {
            let bytes = Array(label.utf8.prefix(63))
            out.append(UInt8(bytes.count))
            out += bytes
        }
        out.append(0)
        return out
    }

    static func append16(_ out: inout [UInt8], _ value: UInt16) {
        out.append(UInt8(value >> 8))
        out.append(UInt8(value & 0xFF))
    }

    static func append32(_ out: inout [UInt8], _ value: UInt32) {
        append16(&out, UInt16(value >> 16))
        append16(&out, UInt16(value & 0xFFFF))
    }
}

/// Reads a DNS message, following compression pointers.
struct DNSReader {
    let bytes: [UInt8]
    var index = 0

    mutating func read8() throws -> UInt8 {
        guard index < bytes.count else { throw DNSError.malformed("message ends early at byte \(index)") }
        defer { index += 1 }
        return bytes[index]
    }

    mutating func read16() throws -> UInt16 { UInt16(try read8()) << 8 | UInt16(try read8()) }

    mutating func read32() throws -> UInt32 { UInt32(try read16()) << 16 | UInt32(try read16()) }

    mutating func readBytes(_ count: Int) throws -> [UInt8] {
        guard count >= 0, index + count <= bytes.count else { throw DNSError.malformed("record ends early") }
        defer { index += count }
        return Array(bytes[index..<index + count])
    }

    mutating func readName() throws -> String {
        var labels: [String] = []
        var position = index
        var jumped = false
        var jumps = 0
        while true {
            guard position < bytes.count else { throw DNSError.malformed("name runs past the message") }
            let length = Int(bytes[position])
            if length & 0xC0 == 0xC0 {
                guard position + 1 < bytes.count, jumps < 64 else { throw DNSError.malformed("bad compression") }
                if !jumped { index = position + 2 }
                position = (length & 0x3F) << 8 | Int(bytes[position + 1])
                jumped = true
                jumps += 1
                continue
            }
            if length == 0 {
                if !jumped { index = position + 1 }
                break
            }
            guard position + 1 + length <= bytes.count else { throw DNSError.malformed("label runs past the message") }
            labels.append(String(decoding: bytes[position + 1..<position + 1 + length], as: UTF8.self))
            position += 1 + length
        }
        return labels.joined(separator: ".").lowercased()
    }

    mutating func readRecord() throws -> DNSRecord {
        let start = index
        let name = try readName()
        let type = try read16()
        let dnsClass = try read16()
        let ttl = try read32()
        let length = Int(try read16())
        let dataStart = index
        var record = DNSRecord(name: name, type: type, dnsClass: dnsClass, ttl: ttl, data: try readBytes(length))
        record.offset = start
        let nameTypes: Set<UInt16> = [DNSMessage.RecordType.cname.rawValue, 2, 6, 250]
        if nameTypes.contains(type) {
            var inner = DNSReader(bytes: bytes, index: dataStart)
            record.targetName = try inner.readName()
        }
        return record
    }
}
