import Foundation

/// A test certificate authority made with the `openssl` command line: a CA and the leaves it signs.
struct TestPKI {
    let folder: String

    var caCertificate: String { folder + "/ca.pem" }

    init(in folder: String) throws {
        self.folder = folder
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try sh([
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", folder + "/ca.key", "-out", caCertificate, "-subj", "/CN=Canopy E2E CA", "-days", "30",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
    }

    /// Signs a new P-256 leaf for `names`; returns (chain file: leaf then CA, key file) named `label`.
    @discardableResult
    func leaf(_ label: String, names: [String]) throws -> (certificate: String, key: String) {
        let key = folder + "/\(label).key"
        let csr = folder + "/\(label).csr"
        let leaf = folder + "/\(label).leaf.pem"
        let ext = folder + "/\(label).ext"
        try ("subjectAltName=" + names.map { "DNS:\($0)" }.joined(separator: ",") + "\n")
            .write(toFile: ext, atomically: true, encoding: .utf8)
        try sh([
            "openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
            "-out", csr, "-subj", "/CN=\(names[0])",
        ])
        try sh([
            "openssl", "x509", "-req", "-in", csr, "-CA", caCertificate, "-CAkey", folder + "/ca.key",
            "-CAcreateserial", "-out", leaf, "-days", "20", "-extfile", ext,
        ])
        let chain = folder + "/\(label).pem"
        try (try String(contentsOfFile: leaf, encoding: .utf8) + String(contentsOfFile: caCertificate, encoding: .utf8))
            .write(toFile: chain, atomically: true, encoding: .utf8)
        return (chain, key)
    }

    /// The serial number of the certificate a TLS server presents for `serverName` (nil when none).
    static func servedSerial(port: Int, serverName: String) throws -> String? {
        let output = try sh(
            [
                "bash", "-c",
                "openssl s_client -connect 127.0.0.1:\(port) -servername \(serverName) </dev/null 2>/dev/null | openssl x509 -noout -serial",
            ], allowFailure: true)
        return output.hasPrefix("serial=") ? output.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    /// The serial number in a certificate file.
    static func serial(of file: String) throws -> String {
        try sh(["openssl", "x509", "-noout", "-serial", "-in", file]).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
