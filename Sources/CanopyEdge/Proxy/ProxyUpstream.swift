import CanopySpec
import NIOHTTP1

/// Where a proxy rule sends its requests: the scheme, host and port its target names, fixed when
/// the rule is compiled. Only the path and query come from the request (`ProxyTarget`), so a
/// request can never make the edge connect anywhere its rules do not name.
struct ProxyUpstream: Sendable, Hashable {
    var secure: Bool
    var host: String
    var port: Int
    /// `scheme://authority` exactly as the rule wrote it: what a substituted target starts with.
    var origin: String
    /// The upstream's Host header: its host, with the port when it is not the scheme's default.
    var hostHeader: String

    /// The upstream of a proxy rule's target; nil when the target is not an absolute URL with a
    /// literal host (the spec parsers refuse such rules at their line).
    init?(target: String) {
        guard RulesSpec.proxyTargetError(target) == nil else { return nil }
        let secure = target.hasPrefix("https://")
        guard secure || target.hasPrefix("http://") else { return nil }
        let scheme = secure ? "https://" : "http://"
        let authority = target.dropFirst(scheme.count).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        var host = String(authority)
        var port = secure ? 443 : 80
        if host.hasPrefix("[") {  // [::1]:8080
            guard let close = host.firstIndex(of: "]") else { return nil }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") { port = Int(after.dropFirst()) ?? -1 }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":") {
            port = Int(host[host.index(after: colon)...]) ?? -1
            host = String(host[..<colon])
        }
        guard !host.isEmpty, (1...65535).contains(port) else { return nil }
        self.secure = secure
        self.host = host.lowercased()
        self.port = port
        self.origin = scheme + authority
        self.hostHeader = String(authority).lowercased()
    }

    /// What error pages say the upstream is.
    var name: String { origin }
}

/// One proxied request's destination: the rule's upstream and the path (with query) to ask it for.
struct ProxyTarget: Sendable {
    var upstream: ProxyUpstream
    /// Origin-form request target: `/path?query`, percent-encoded where the path needs it.
    var uri: String
    /// netlify.toml `headers = {…}` of the rule.
    var headers: [HeaderField]
}

enum ProxyHeaders {
    /// Hop-by-hop fields (RFC 9110 §7.6.1), never passed on in either direction; `Proxy-*` too.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade", "proxy-connection",
        "proxy-authenticate", "proxy-authorization", "expect", "http2-settings",
    ]

    /// `fields` without the hop-by-hop ones and those the Connection field names.
    static func endToEnd(_ fields: [(String, String)]) -> [(String, String)] {
        var named = hopByHop
        for (name, value) in fields where name.lowercased() == "connection" {
            for token in value.split(separator: ",") {
                named.insert(token.trimmingCharacters(in: .whitespaces).lowercased())
            }
        }
        return fields.filter { field in
            let name = field.0.lowercased()
            return !named.contains(name) && !name.hasPrefix("proxy-")
        }
    }

    /// The request head sent upstream: the client's end-to-end fields, Host set to the upstream's,
    /// `X-Forwarded-For` (appended to), `-Proto` and `-Host`, and the rule's own headers.
    static func requestHead(
        method: String, target: ProxyTarget, fields: [(String, String)], clientAddress: String?, secure: Bool,
        bodyLength: Int?, chunked: Bool
    ) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        var forwardedFor: String?
        var originalHost: String?
        for (name, value) in endToEnd(fields) {
            switch name.lowercased() {
            case "host":
                originalHost = value
                continue
            case "x-forwarded-for":
                forwardedFor = forwardedFor.map { $0 + ", " + value } ?? value
                continue
            case "x-forwarded-proto", "x-forwarded-host", "content-length": continue
            default: headers.add(name: name, value: value)
            }
        }
        headers.replaceOrAdd(name: "Host", value: target.upstream.hostHeader)
        if let clientAddress {
            headers.add(name: "X-Forwarded-For", value: forwardedFor.map { $0 + ", " + clientAddress } ?? clientAddress)
        } else if let forwardedFor {
            headers.add(name: "X-Forwarded-For", value: forwardedFor)
        }
        headers.add(name: "X-Forwarded-Proto", value: secure ? "https" : "http")
        if let originalHost { headers.add(name: "X-Forwarded-Host", value: originalHost) }
        for field in target.headers { headers.replaceOrAdd(name: field.name, value: field.value) }
        if let bodyLength {
            headers.add(name: "Content-Length", value: String(bodyLength))
        } else if chunked {
            headers.add(name: "Transfer-Encoding", value: "chunked")
        }
        return HTTPRequestHead(
            version: .http1_1, method: HTTPMethod(rawValue: method), uri: target.uri, headers: headers)
    }

    /// Percent-encodes what may not appear in a request target's path (space, controls, `?`,
    /// `#`, non-ASCII), keeping `%XX` escapes; the substituted path came decoded from the request.
    static func encodePath(_ path: String) -> String {
        let bytes = Array(path.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        let hex = Array("0123456789ABCDEF".utf8)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            let isHex: (UInt8) -> Bool = { ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 102) }
            let allowed =
                (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39)
                || "-._~!$&'()*+,;=:@/".utf8.contains(b)
            if allowed || (b == 0x25 && i + 2 < bytes.count && isHex(bytes[i + 1]) && isHex(bytes[i + 2])) {
                out.append(b)
            } else {
                out.append(0x25)
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0xF)])
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
