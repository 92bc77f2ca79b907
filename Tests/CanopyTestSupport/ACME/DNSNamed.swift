import CanopyTLS
import Foundation

/// A real BIND (`named` from Debian's bind9) on loopback, authoritative for `example.test`,
/// `acme-delegate.test` (both updatable with the TSIG keys below) and `locked.test` (not updatable).
/// `_acme-challenge.cname.example.test` is a CNAME into `acme-delegate.test`. It also resolves for
/// Pebble as a CA's recursive resolver would (BIND follows a CNAME into another zone only when
/// recursing); it is authoritative for the root zone too, so it never asks anything off this machine.
public final class DNSNamed {
    public static let available = FileManager.default.isExecutableFile(atPath: "/usr/sbin/named")

    public let folder: ACMETestFolder
    public let port = ACMETestPorts.free()
    public let process: ACMETestProcess
    /// The hmac-sha256 key the zones accept.
    public let key256: TSIGKey
    /// The hmac-sha512 key the zones accept.
    public let key512: TSIGKey

    /// `records` are added to the `example.test` zone (e.g. `@ IN A 127.0.0.1`).
    public init(records: String = "") async throws {
        folder = try ACMETestFolder("named")
        let key256 = TSIGKey(name: "canopy-256", algorithm: .hmacSHA256, secret: Self.randomBytes(32))
        let key512 = TSIGKey(name: "canopy-512", algorithm: .hmacSHA512, secret: Self.randomBytes(64))
        self.key256 = key256
        self.key512 = key512
        let folder = self.folder
        let port = self.port
        let dir = folder.path
        func keyStatement(_ key: TSIGKey) -> String {
            "key \"\(key.name)\" { algorithm \(key.algorithm.rawValue); secret \"\(Data(key.secret).base64EncodedString())\"; };"
        }
        func zone(_ name: String, updatable: Bool) throws -> String {
            let zoneRecords =
                name == "example.test"
                ? "_acme-challenge.cname IN CNAME cname-challenge.acme-delegate.test.\n" + records : ""
            _ = try folder.write(
                "\(name).zone",
                """
                $TTL 60
                @ IN SOA ns.\(name). hostmaster.\(name). 1 3600 600 86400 60
                @ IN NS ns.\(name).
                ns IN A 127.0.0.1
                \(zoneRecords)
                """)
            let update = updatable ? "allow-update { key \"\(key256.name)\"; key \"\(key512.name)\"; };" : ""
            return "zone \"\(name)\" { type primary; file \"\(dir)/\(name).zone\"; \(update) };"
        }
        let config = """
            options {
                directory "\(dir)"; pid-file "\(dir)/named.pid"; session-keyfile "\(dir)/session.key";
                managed-keys-directory "\(dir)"; listen-on port \(port) { 127.0.0.1; }; listen-on-v6 { none; };
                recursion yes; allow-recursion { 127.0.0.1; }; query-source address 127.0.0.1;
                dnssec-validation no; notify no;
            };
            controls { };
            \(keyStatement(key256))
            \(keyStatement(key512))
            \(try zone("example.test", updatable: true))
            \(try zone("acme-delegate.test", updatable: true))
            \(try zone("locked.test", updatable: false))
            zone "." { type primary; file "\(dir)/root.zone"; };
            """
        _ = try folder.write(
            "root.zone", "$TTL 60\n@ IN SOA ns. hostmaster. 1 3600 600 86400 60\n@ IN NS ns.\nns IN A 127.0.0.1\n")
        let configFile = try folder.write("named.conf", config)
        let process = try ACMETestProcess(
            "/usr/sbin/named", ["-g", "-4", "-c", configFile], logPath: dir + "/named.log")
        self.process = process
        do {
            try await process.waitForPort(port)
        } catch {
            process.stop()
            folder.remove()
            throw error
        }
    }

    /// `127.0.0.1:port`.
    public var address: String { "127.0.0.1:\(port)" }

    /// An update client with `key`.
    public func client(key: TSIGKey?, transport: DNSProtocol = .tcp) -> DNSUpdateClient {
        DNSUpdateClient(
            configuration: RFC2136Configuration(host: "127.0.0.1", port: port, key: key, transport: transport))
    }

    public var log: String { process.log }

    public func stop() {
        process.stop()
        folder.remove()
    }

    public static func randomBytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255) } }
}
