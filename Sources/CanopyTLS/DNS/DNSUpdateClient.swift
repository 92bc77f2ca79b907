import Foundation

/// An RFC 2136 dynamic-update client: adds and deletes TXT records in the zone that holds a name,
/// signed with TSIG (RFC 8945) and checking the signed answer.
public struct DNSUpdateClient: Sendable {
    /// The configuration.
    public let configuration: RFC2136Configuration
    let transport: DNSTransport

    /// Creates a client.
    public init(configuration: RFC2136Configuration) {
        self.configuration = configuration
        self.transport = DNSTransport(
            host: configuration.host, port: configuration.port, transport: configuration.transport)
    }

    /// `host:port` of the server.
    public var server: String { transport.serverDescription }

    /// Adds the TXT record `name` → `value` (other values at the same name stay).
    public func addTXT(name: String, value: String, zone: String? = nil) async throws {
        let zone = try await resolveZone(zone, for: name)
        let record = DNSRecord(
            name: name, type: DNSMessage.RecordType.txt.rawValue, dnsClass: 1, ttl: configuration.ttl,
            data: DNSRecord.txtData(value))
        try await update(zone: zone, records: [record], operation: "add TXT \(name)")
    }

    /// Deletes the TXT record `name` → `value` only (RFC 2136 §2.5.4: class NONE).
    public func deleteTXT(name: String, value: String, zone: String? = nil) async throws {
        let zone = try await resolveZone(zone, for: name)
        let record = DNSRecord(
            name: name, type: DNSMessage.RecordType.txt.rawValue, dnsClass: 254, ttl: 0, data: DNSRecord.txtData(value))
        try await update(zone: zone, records: [record], operation: "delete TXT \(name)")
    }

    /// Sends one UPDATE for `zone` with `records` in its update section and checks the answer.
    public func update(zone: String, records: [DNSRecord], operation: String) async throws {
        var message = DNSMessage(id: UInt16.random(in: 0...UInt16.max), flags: 5 << 11)
        message.questions = [DNSRecord(name: zone, type: DNSMessage.RecordType.soa.rawValue, dnsClass: 1)]
        message.authorities = records
        _ = try await send(message, zone: zone, operation: operation)
    }

    /// Asks the server for `name`/`type` (no recursion) and returns the answer, signed when a key
    /// is configured.
    public func query(_ name: String, type: DNSMessage.RecordType) async throws -> DNSMessage {
        var message = DNSMessage(id: UInt16.random(in: 0...UInt16.max), flags: 0)
        message.questions = [DNSRecord(name: name, type: type.rawValue, dnsClass: 1)]
        return try await send(message, zone: name, operation: "query \(name)", acceptErrors: true)
    }

    /// The zone that holds `name` on this server: the owner of the SOA record the server gives
    /// for `name` (in the answer at a zone apex, in the authority section below it).
    public func findZone(for name: String) async throws -> String {
        var candidate = DNSMessage.normalise(name)
        while !candidate.isEmpty {
            let answer = try await query(candidate, type: .soa)
            if answer.rcode == 0 || answer.rcode == 3 {
                let soa = (answer.answers + answer.authorities).first { $0.type == DNSMessage.RecordType.soa.rawValue }
                if let soa { return soa.name }
            }
            guard let dot = candidate.firstIndex(of: ".") else { break }
            candidate = String(candidate[candidate.index(after: dot)...])
        }
        throw DNSError.responseCode(code: 9, server: server, zone: DNSMessage.normalise(name), operation: "find zone")
    }

    /// Follows CNAME records from `name` on this server (at most 8) and returns the final name:
    /// `_acme-challenge.example.com CNAME _acme-challenge.acme.example.net.` gives the latter.
    public func followCNAME(_ name: String) async throws -> String {
        var current = DNSMessage.normalise(name)
        for _ in 0..<8 {
            let answer = try await query(current, type: .cname)
            guard answer.rcode == 0,
                let cname = answer.answers.first(where: {
                    $0.type == DNSMessage.RecordType.cname.rawValue && $0.name == current
                }), let target = cname.targetName
            else { return current }
            current = target
        }
        return current
    }

    /// The TXT values at `name` on this server.
    public func txtValues(_ name: String) async throws -> [String] {
        let normalised = DNSMessage.normalise(name)
        return try await query(normalised, type: .txt).answers.filter {
            $0.type == DNSMessage.RecordType.txt.rawValue && $0.name == normalised
        }.map(\.txtValue)
    }

    func resolveZone(_ zone: String?, for name: String) async throws -> String {
        if let zone { return DNSMessage.normalise(zone) }
        return try await findZone(for: name)
    }

    func send(
        _ message: DNSMessage, zone: String, operation: String, acceptErrors: Bool = false
    ) async throws
        -> DNSMessage
    {
        let (bytes, mac) = configuration.key.map { TSIG.sign(message, key: $0) } ?? (message.encoded(), [])
        let answerBytes = try await transport.exchange(bytes)
        let answer = try DNSMessage.decode(answerBytes)
        guard answer.id == message.id else { throw DNSError.malformed("answer id does not match the query") }
        if let key = configuration.key {
            try TSIG.verify(response: answerBytes, message: answer, requestMAC: mac, key: key, server: server)
        }
        if answer.rcode != 0, !(acceptErrors && answer.rcode != 9 && answer.rcode != 5) {
            throw DNSError.responseCode(code: answer.rcode, server: server, zone: zone, operation: operation)
        }
        return answer
    }
}
