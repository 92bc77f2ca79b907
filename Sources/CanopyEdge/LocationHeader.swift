/// A redirect's Location, made safe to write into a response head: placeholders and splats carry
/// request bytes (percent-decoded), and nothing from a request may put a control character (a
/// CR/LF that starts a header of its own) or markup into a response. Every byte that is not a URI
/// character (RFC 3986: unreserved, reserved, and `%`) is percent-encoded, as nginx and Netlify do;
/// `%` stays, so a target that is already encoded is not encoded twice.
enum LocationHeader {
    static func encode(_ location: String) -> String {
        guard !location.utf8.allSatisfy(isURIByte) else { return location }
        let hex = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(location.utf8.count + 16)
        for byte in location.utf8 {
            if isURIByte(byte) {
                bytes.append(byte)
            } else {
                bytes += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @inline(__always)
    static func isURIByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: ":"),
            UInt8(ascii: "/"), UInt8(ascii: "?"), UInt8(ascii: "#"), UInt8(ascii: "["), UInt8(ascii: "]"),
            UInt8(ascii: "@"), UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"),
            UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","),
            UInt8(ascii: ";"), UInt8(ascii: "="), UInt8(ascii: "%"):
            return true
        default:
            return false
        }
    }

    /// For the redirect's little HTML body: the encoded location leaves only `&` and `'` to escape.
    static func html(_ encoded: String) -> String {
        encoded.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "'", with: "&#39;")
    }
}
