import Crypto
import Foundation

/// TSIG signing of requests and verification of responses (RFC 8945 §4, §5).
enum TSIG {
    static let fudge: UInt16 = 300

    /// The fields of a TSIG record's data.
    struct Fields {
        var algorithm: String
        var timeSigned: UInt64
        var fudge: UInt16
        var mac: [UInt8]
        var originalID: UInt16
        var error: UInt16
        var other: [UInt8]

        init(
            algorithm: String, timeSigned: UInt64, fudge: UInt16, mac: [UInt8], originalID: UInt16, error: UInt16,
            other: [UInt8]
        ) {
            self.algorithm = algorithm
            self.timeSigned = timeSigned
            self.fudge = fudge
            self.mac = mac
            self.originalID = originalID
            self.error = error
            self.other = other
        }

        init(data: [UInt8]) throws {
            var reader = DNSReader(bytes: data)
            algorithm = try reader.readName()
            timeSigned = UInt64(try reader.read16()) << 32 | UInt64(try reader.read32())
            fudge = try reader.read16()
            mac = try reader.readBytes(Int(try reader.read16()))
            originalID = try reader.read16()
            error = try reader.read16()
            other = try reader.readBytes(Int(try reader.read16()))
        }

        var data: [UInt8] {
            var out = DNSMessage.wireName(algorithm)
            appendTime(&out)
            DNSMessage.append16(&out, fudge)
            DNSMessage.append16(&out, UInt16(mac.count))
            out += mac
            DNSMessage.append16(&out, originalID)
            DNSMessage.append16(&out, error)
            DNSMessage.append16(&out, UInt16(other.count))
            return out + other
        }

        /// The "TSIG variables" the MAC covers (§4.3.3).
        func variables(keyName: String) -> [UInt8] {
            var out = DNSMessage.wireName(keyName)
            DNSMessage.append16(&out, DNSMessage.RecordType.any.rawValue)
            DNSMessage.append32(&out, 0)
            out += DNSMessage.wireName(algorithm)
            appendTime(&out)
            DNSMessage.append16(&out, fudge)
            DNSMessage.append16(&out, error)
            DNSMessage.append16(&out, UInt16(other.count))
            return out + other
        }

        func appendTime(_ out: inout [UInt8]) {
            DNSMessage.append16(&out, UInt16(timeSigned >> 32 & 0xFFFF))
            DNSMessage.append32(&out, UInt32(timeSigned & 0xFFFF_FFFF))
        }
    }

    /// Signs `message` (which must not yet carry a TSIG); returns the wire bytes and the MAC the
    /// response's signature will cover.
    static func sign(_ message: DNSMessage, key: TSIGKey, now: Date = Date()) -> (bytes: [UInt8], mac: [UInt8]) {
        var fields = Fields(
            algorithm: key.algorithm.rawValue, timeSigned: UInt64(max(0, now.timeIntervalSince1970)), fudge: fudge,
            mac: [], originalID: message.id, error: 0, other: [])
        fields.mac = key.mac(message.encoded() + fields.variables(keyName: key.name))
        var signed = message
        signed.additionals.append(
            DNSRecord(name: key.name, type: DNSMessage.RecordType.tsig.rawValue, dnsClass: 255, data: fields.data))
        return (signed.encoded(), fields.mac)
    }

    /// Checks a response's TSIG against the request's MAC. Throws ``DNSError/tsig(error:server:keyName:)``
    /// when the server reports a TSIG error, ``DNSError/responseNotSigned(server:reason:)`` when the
    /// signature is missing or wrong.
    static func verify(
        response bytes: [UInt8], message: DNSMessage, requestMAC: [UInt8], key: TSIGKey, server: String
    )
        throws
    {
        guard let record = message.additionals.last, record.type == DNSMessage.RecordType.tsig.rawValue else {
            if message.rcode == 9 || message.rcode == 5 { return }  // the caller reports the rcode
            throw DNSError.responseNotSigned(server: server, reason: "the answer carries no TSIG record")
        }
        let fields = try Fields(data: record.data)
        if fields.error != 0 { throw DNSError.tsig(error: fields.error, server: server, keyName: key.name) }
        guard record.name == key.name, DNSMessage.normalise(fields.algorithm) == key.algorithm.rawValue else {
            throw DNSError.responseNotSigned(server: server, reason: "signed with another key (\(record.name))")
        }
        var unsigned = Array(bytes[0..<record.offset])
        unsigned[0] = UInt8(fields.originalID >> 8)
        unsigned[1] = UInt8(fields.originalID & 0xFF)
        let additionalCount = (UInt16(unsigned[10]) << 8 | UInt16(unsigned[11])) - 1
        unsigned[10] = UInt8(additionalCount >> 8)
        unsigned[11] = UInt8(additionalCount & 0xFF)
        var covered: [UInt8] = []
        DNSMessage.append16(&covered, UInt16(requestMAC.count))
        covered += requestMAC + unsigned + fields.variables(keyName: key.name)
        let expected = key.mac(covered)
        guard expected.count == fields.mac.count, zip(expected, fields.mac).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0
        else { throw DNSError.responseNotSigned(server: server, reason: "the MAC does not match our key") }
        let skew = abs(Date().timeIntervalSince1970 - Double(fields.timeSigned))
        guard skew <= Double(fields.fudge) else {
            throw DNSError.responseNotSigned(server: server, reason: "signed \(Int(skew))s away from our clock")
        }
    }
}
