import Foundation

/// An RFC 7807 problem document as ACME servers send it (RFC 8555 §6.7).
public struct ACMEProblem: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The full type URI, e.g. `urn:ietf:params:acme:error:rateLimited`.
    public var type: String
    /// The server's human-readable explanation.
    public var detail: String?
    /// The HTTP status the server gave the problem.
    public var status: Int?
    /// The identifier a subproblem is about (RFC 8555 §6.7.1).
    public var identifier: ACMEIdentifier?
    /// Per-identifier problems inside a compound one.
    public var subproblems: [ACMEProblem]?

    /// Creates a problem.
    public init(
        type: String, detail: String? = nil, status: Int? = nil, identifier: ACMEIdentifier? = nil,
        subproblems: [ACMEProblem]? = nil
    ) {
        self.type = type
        self.detail = detail
        self.status = status
        self.identifier = identifier
        self.subproblems = subproblems
    }

    /// The ACME error name without its URN prefix (`rateLimited`, `badNonce`, `unauthorized`, …), or the
    /// whole type when it is not an ACME one.
    public var kind: String {
        let prefix = "urn:ietf:params:acme:error:"
        return type.hasPrefix(prefix) ? String(type.dropFirst(prefix.count)) : type
    }

    /// `kind: detail`, with subproblems after it.
    public var description: String {
        var text = kind + (detail.map { ": " + $0 } ?? "")
        for sub in subproblems ?? [] {
            text += "; " + (sub.identifier.map { $0.value + ": " } ?? "") + sub.description
        }
        return text
    }
}
