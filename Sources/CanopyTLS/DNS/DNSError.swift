import Foundation

/// What can go wrong updating or querying a DNS server, each saying which server and what to do.
public enum DNSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The server answered with a response code other than NOERROR (REFUSED, NOTAUTH, NOTZONE, …).
    case responseCode(code: UInt16, server: String, zone: String, operation: String)
    /// The server rejected or failed the TSIG signature (BADSIG, BADKEY, BADTIME, BADTRUNC).
    case tsig(error: UInt16, server: String, keyName: String)
    /// The response's TSIG did not verify with our key, or was missing.
    case responseNotSigned(server: String, reason: String)
    /// No answer in time.
    case timeout(server: String, seconds: Double)
    /// The server could not be reached.
    case connection(server: String, reason: String)
    /// The message could not be read.
    case malformed(String)
    /// Bad configuration (key secret not base64, unknown algorithm, missing environment variable).
    case configuration(String)

    /// The mnemonic of a response code or TSIG error (RFC 1035, 2136, 8945).
    public static func codeName(_ code: UInt16) -> String {
        let names: [UInt16: String] = [
            0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED", 6: "YXDOMAIN",
            7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE", 16: "BADSIG", 17: "BADKEY", 18: "BADTIME",
            22: "BADTRUNC",
        ]
        return names[code] ?? "RCODE \(code)"
    }

    /// A one-line explanation with a hint.
    public var description: String {
        switch self {
        case .responseCode(let code, let server, let zone, let operation):
            let hint: String
            switch code {
            case 5:
                hint = "the server does not allow this update: add `allow-update { key <keyName>; };` to zone \(zone)"
            case 9: hint = "the server is not authoritative for \(zone), or did not accept the key"
            case 10: hint = "the name is not inside zone \(zone)"
            default: hint = "see the server's log"
            }
            return "DNS server \(server) answered \(Self.codeName(code)) to \(operation) in zone \(zone): \(hint)"
        case .tsig(let error, let server, let keyName):
            let hint =
                switch error {
                case 16: "the secret does not match the server's key \(keyName) (check keySecret and keyAlgorithm)"
                case 17: "the server has no key named \(keyName) with that algorithm (check keyName and keyAlgorithm)"
                case 18: "the clocks of this machine and the server differ by more than 5 minutes"
                default: "the signature was refused"
                }
            return "DNS server \(server) refused the TSIG signature: \(Self.codeName(error)): \(hint)"
        case .responseNotSigned(let server, let reason):
            return "the answer from DNS server \(server) failed TSIG verification: \(reason)"
        case .timeout(let server, let seconds):
            return "DNS server \(server) did not answer within \(Int(seconds))s"
        case .connection(let server, let reason):
            return "cannot reach DNS server \(server): \(reason)"
        case .malformed(let reason):
            return "malformed DNS message: \(reason)"
        case .configuration(let reason):
            return reason
        }
    }
}
