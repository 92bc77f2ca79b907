import CanopyTLS
import Crypto
import Foundation
import SwiftASN1
import X509

/// A real Pebble (Debian's `pebble`) on loopback, with a TLS certificate made by the test's own
/// CA (the Debian package ships none), optionally with `pebble-challtestsrv` as its DNS.
public final class ACMEPebble {
    public static let available =
        FileManager.default.isExecutableFile(atPath: "/usr/bin/pebble")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/pebble-challtestsrv")

    public let folder: ACMETestFolder
    public let port = ACMETestPorts.free()
    public let managementPort = ACMETestPorts.free()
    public let httpPort: Int
    public let tlsPort: Int
    /// The PEM file with the CA that signed Pebble's own TLS certificate (`--acme-trust`).
    public let trustFile: String
    public var processes: [ACMETestProcess] = []

    /// Starts Pebble. `dnsServer` is `host:port` of the resolver it should use; nil starts
    /// pebble-challtestsrv answering 127.0.0.1 for every name. `nonceRejectPercent` makes Pebble
    /// refuse that share of good nonces with `badNonce`.
    public init(
        httpPort: Int = ACMETestPorts.free(), tlsPort: Int = ACMETestPorts.free(), dnsServer: String? = nil,
        nonceRejectPercent: Int = 0, certificateValidity: Int? = nil
    ) async throws {
        folder = try ACMETestFolder("pebble")
        self.httpPort = httpPort
        self.tlsPort = tlsPort
        let (caPEM, certPEM, keyPEM) = try Self.makeServerCertificate()
        trustFile = try folder.write("ca.pem", caPEM)
        let certFile = try folder.write("cert.pem", certPEM)
        let keyFile = try folder.write("key.pem", keyPEM)
        let config = """
            {"pebble": {"listenAddress": "127.0.0.1:\(port)", "managementListenAddress": "127.0.0.1:\(managementPort)",
              "certificate": "\(certFile)", "privateKey": "\(keyFile)", "httpPort": \(httpPort), "tlsPort": \(tlsPort),
              "ocspResponderURL": "", "externalAccountBindingRequired": false\(certificateValidity.map { ", \"certificateValidityPeriod\": \($0)" } ?? "")}}
            """
        let configFile = try folder.write("pebble-config.json", config)
        do {
            var resolver = dnsServer
            if resolver == nil {
                let dnsPort = ACMETestPorts.free()
                let challtestsrv = try ACMETestProcess(
                    "/usr/bin/pebble-challtestsrv",
                    [
                        "-dns01", "127.0.0.1:\(dnsPort)", "-http01", "", "-https01", "", "-tlsalpn01", "",
                        "-management", "127.0.0.1:\(ACMETestPorts.free())", "-defaultIPv6", "",
                    ], logPath: folder.path + "/challtestsrv.log")
                processes.append(challtestsrv)
                try await challtestsrv.waitForPort(dnsPort)
                resolver = "127.0.0.1:\(dnsPort)"
            }
            let pebble = try ACMETestProcess(
                "/usr/bin/pebble", ["-config", configFile, "-dnsserver", resolver!],
                environment: ["PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": String(nonceRejectPercent)],
                logPath: folder.path + "/pebble.log")
            processes.append(pebble)
            try await pebble.waitForPort(port)
            try await pebble.waitForPort(managementPort)
        } catch {
            stop()
            throw error
        }
    }

    /// The ACME directory URL.
    public var directoryURL: String { "https://localhost:\(port)/dir" }

    /// Pebble's log, for failure messages.
    public var log: String { processes.map(\.log).joined(separator: "\n") }

    /// A client trusting Pebble's TLS certificate through `--acme-trust`.
    public func httpClient() throws -> ACMEHTTPClient {
        try ACMEHTTPClient(additionalTrustRoots: [trustFile], timeout: .seconds(20))
    }

    /// Pebble's issuing root, from its management API.
    public func issuingRoot() async throws -> Certificate {
        let response = try await httpClient().send("GET", "https://localhost:\(managementPort)/roots/0")
        return try Certificate(pemEncoded: String(decoding: response.body, as: UTF8.self))
    }

    public func stop() {
        for process in processes.reversed() { process.stop() }
        processes = []
        folder.remove()
    }

    /// A CA and a certificate for localhost/127.0.0.1 signed by it, all PEM.
    public static func makeServerCertificate() throws -> (ca: String, cert: String, key: String) {
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("Canopy test CA for Pebble") }
        let now = Date()
        let ca = try Certificate(
            version: .v3, serialNumber: .init(bytes: [1]), publicKey: .init(caKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(86_400),
            issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true))
            }, issuerPrivateKey: .init(caKey))
        let key = P256.Signing.PrivateKey()
        let leaf = try Certificate(
            version: .v3, serialNumber: .init(bytes: [2]), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(86_400),
            issuer: caName, subject: try DistinguishedName { CommonName("localhost") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                SubjectAlternativeNames([
                    .dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])),
                ])
                try ExtendedKeyUsage([.serverAuth])
                Critical(KeyUsage(digitalSignature: true))
            }, issuerPrivateKey: .init(caKey))
        return (try ca.serializeAsPEM().pemString, try leaf.serializeAsPEM().pemString, key.pemRepresentation)
    }
}
