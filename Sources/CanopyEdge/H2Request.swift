import NIOHPACK

/// An HTTP/2 request's decoded header list as the `EdgeRequest` the Responder reads, checked as
/// RFC 9113 §8.2 and §8.3 require: a malformed request (uppercase or invalid names, control
/// characters or edge whitespace in values, connection-specific fields, pseudo-header fields out
/// of place, repeated, unknown or missing) is refused, and its stream reset.
enum H2Request {
    struct Malformed: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static func parse(_ headers: HPACKHeaders) throws(Malformed) -> EdgeRequest {
        var methodName: String?
        var scheme: String?
        var path: String?
        var authority: String?
        var regularSeen = false
        var request = EdgeRequest(method: .other, methodName: "", uri: "")
        var acceptEncoding: [String] = []
        var acceptLanguage: [String] = []
        var ifMatch: [String] = []
        var ifNoneMatch: [String] = []
        var cookies: [String] = []
        for (name, value, _) in headers {
            guard validValue(value) else { throw Malformed("the value of \(name) has a control character") }
            if name.utf8.first == 0x3A {
                guard !regularSeen else { throw Malformed("\(name) after a regular field") }
                switch name {
                case ":method" where methodName == nil: methodName = value
                case ":scheme" where scheme == nil: scheme = value
                case ":path" where path == nil: path = value
                case ":authority" where authority == nil: authority = value
                default: throw Malformed("\(name) is unknown or repeated")
                }
                continue
            }
            regularSeen = true
            guard validName(name) else { throw Malformed("the field name \(name) is not lowercase or not a token") }
            switch name {
            case "host": if request.host == nil { request.host = value }
            case "accept-encoding": acceptEncoding.append(value)
            case "accept-language": acceptLanguage.append(value)
            case "range": request.range = request.range ?? value
            case "if-range": request.ifRange = request.ifRange ?? value
            case "if-match": ifMatch.append(value)
            case "if-none-match": ifNoneMatch.append(value)
            case "if-modified-since": request.ifModifiedSince = request.ifModifiedSince ?? value
            case "if-unmodified-since": request.ifUnmodifiedSince = request.ifUnmodifiedSince ?? value
            case "authorization": request.authorization = request.authorization ?? value
            case "cookie": cookies.append(value)
            case "x-canopy-target": request.canopyTarget = request.canopyTarget ?? value
            case "referer": request.referer = request.referer ?? value
            case "user-agent": request.userAgent = request.userAgent ?? value
            case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
                throw Malformed("\(name) is connection-specific")
            case "te" where value != "trailers": throw Malformed("te other than trailers")
            default: break
            }
        }
        guard let methodName else { throw Malformed("no :method") }
        guard methodName != "CONNECT" else { throw Malformed("CONNECT is not served") }
        guard scheme != nil, let path, !path.isEmpty else { throw Malformed("no :scheme or :path") }
        switch methodName {
        case "GET": request.method = .get
        case "HEAD": request.method = .head
        case "OPTIONS": request.method = .options
        default: request.method = .other
        }
        request.methodName = methodName
        request.uri = path
        request.isHTTP2 = true
        // `:authority` wins over Host (RFC 9113 §8.3.1).
        if let authority { request.host = authority }
        if !acceptEncoding.isEmpty { request.acceptEncoding = acceptEncoding.joined(separator: ", ") }
        if !acceptLanguage.isEmpty { request.acceptLanguage = acceptLanguage.joined(separator: ", ") }
        if !ifMatch.isEmpty { request.ifMatch = ifMatch.joined(separator: ", ") }
        if !ifNoneMatch.isEmpty { request.ifNoneMatch = ifNoneMatch.joined(separator: ", ") }
        // HTTP/2 may split Cookie into several fields (RFC 9113 §8.2.3).
        if !cookies.isEmpty { request.cookie = cookies.joined(separator: "; ") }
        return request
    }

    /// A token of lowercase characters (RFC 9110 §5.6.2; RFC 9113 §8.2.1).
    static func validName(_ name: String) -> Bool {
        guard !name.isEmpty else { return false }
        for byte in name.utf8 {
            switch byte {
            case 0x61...0x7A, 0x30...0x39, 0x2D, 0x5F, 0x2E, 0x21, 0x23...0x27, 0x2A, 0x2B, 0x5E, 0x60, 0x7C, 0x7E:
                continue
            default:
                return false
            }
        }
        return true
    }

    /// No NUL, CR or LF, and no whitespace at either end (RFC 9113 §8.2.1).
    static func validValue(_ value: String) -> Bool {
        let bytes = value.utf8
        if let first = bytes.first, first == 0x20 || first == 0x09 { return false }
        if let last = bytes.last, last == 0x20 || last == 0x09 { return false }
        for byte in bytes where byte == 0 || byte == 0x0A || byte == 0x0D { return false }
        return true
    }
}
