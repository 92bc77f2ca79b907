import Foundation

/// Where DNS-01 answers go: an authoritative server that accepts RFC 2136 updates signed with a
/// TSIG key. The Sites file's `acme: { dns: { rfc2136: { server, keyName, keyAlgorithm, keySecret } } }`.
public struct RFC2136Configuration: Sendable, Hashable {
    /// The server's host (IP address or name).
    public var host: String
    /// The server's port (53 unless given).
    public var port: Int
    /// The TSIG key; nil sends unsigned updates (only for servers that allow them by address).
    public var key: TSIGKey?
    /// UDP or TCP.
    public var transport: DNSProtocol
    /// The TTL of the TXT records written.
    public var ttl: UInt32

    /// Creates a configuration.
    public init(host: String, port: Int = 53, key: TSIGKey?, transport: DNSProtocol = .tcp, ttl: UInt32 = 60) {
        self.host = host
        self.port = port
        self.key = key
        self.transport = transport
        self.ttl = ttl
    }

    /// Builds a configuration from the Sites file's strings: `server` is `HOST`, `HOST:PORT` or
    /// `[V6]:PORT`; a value `$NAME` is read from `environment`.
    public init(
        server: String, keyName: String?, keyAlgorithm: String?, keySecret: String?,
        transport: DNSProtocol = .tcp, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        func value(_ text: String?, _ field: String) throws -> String? {
            guard let text, text.hasPrefix("$") else { return text }
            let name = String(text.dropFirst())
            guard let found = environment[name], !found.isEmpty else {
                throw DNSError.configuration(
                    "acme.dns.rfc2136.\(field) names the environment variable \(name), which is not set")
            }
            return found
        }
        let (host, port) = try Self.splitHostPort(try value(server, "server") ?? server)
        var key: TSIGKey?
        if let name = try value(keyName, "keyName") {
            guard let secret = try value(keySecret, "keySecret") else {
                throw DNSError.configuration("acme.dns.rfc2136 has keyName \(name) but no keySecret")
            }
            key = try TSIGKey(
                name: name, algorithm: try value(keyAlgorithm, "keyAlgorithm") ?? "hmac-sha256",
                base64Secret: secret)
        }
        self.init(host: host, port: port, key: key, transport: transport)
    }

    static func splitHostPort(_ text: String) throws -> (String, Int) {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.isEmpty || rest.hasPrefix(":") else { throw badServer(text) }
            guard let port = rest.isEmpty ? 53 : Int(rest.dropFirst()), (1...65535).contains(port) else {
                throw badServer(text)
            }
            return (host, port)
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 1, !text.isEmpty { return (text, 53) }
        guard parts.count == 2, !parts[0].isEmpty, let port = Int(parts[1]), (1...65535).contains(port) else {
            throw badServer(text)
        }
        return (String(parts[0]), port)
    }

    static func badServer(_ text: String) -> DNSError {
        .configuration("acme.dns.rfc2136.server '\(text)' is not HOST, HOST:PORT or [IPv6]:PORT")
    }
}
