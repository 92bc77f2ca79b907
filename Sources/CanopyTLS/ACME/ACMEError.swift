import CanopySpec
import Foundation

/// Everything that can go wrong talking to an ACME server, each saying where and what to do.
public enum ACMEError: Error, Sendable, CustomStringConvertible {
    /// The server answered with a problem document.
    case problem(ACMEProblem, url: String, retryAfter: Date?)
    /// The server could not be reached, or the connection broke (TLS trust included).
    case connection(url: String, reason: String)
    /// The server answered something this client cannot use.
    case unexpectedResponse(url: String, status: Int, reason: String)
    /// A challenge the server tried failed; `problem` is the server's validation error.
    case challengeFailed(identifier: String, challengeType: String, problem: ACMEProblem?)
    /// No configured solver can answer any challenge the server offers for an identifier.
    case noSolver(identifier: String, offered: [String])
    /// The order became invalid.
    case orderInvalid(url: String, problem: ACMEProblem?)
    /// Polling gave up.
    case timedOut(what: String, seconds: Double)
    /// A configuration or local input problem (bad trust file, bad URL).
    case configuration(String)

    /// The problem document, when the server sent one.
    public var problem: ACMEProblem? {
        switch self {
        case .problem(let problem, _, _): problem
        case .challengeFailed(_, _, let problem), .orderInvalid(_, let problem): problem
        default: nil
        }
    }

    /// When the server asked the client to come back (`Retry-After`), if it did.
    public var retryAfter: Date? {
        if case .problem(_, _, let date) = self { return date }
        return nil
    }

    /// A one-line explanation for logs and `canopy certs`.
    public var description: String {
        switch self {
        case .problem(let problem, let url, let retryAfter):
            let retry = retryAfter.map { "; retry after \(Timestamp.seconds(from: $0))" } ?? ""
            return "ACME server refused \(url): \(problem)\(retry)"
        case .connection(let url, let reason):
            return "cannot reach the ACME server at \(url): \(reason) (check --acme-directory and --acme-trust)"
        case .unexpectedResponse(let url, let status, let reason):
            return "unexpected answer from the ACME server at \(url) (HTTP \(status)): \(reason)"
        case .challengeFailed(let identifier, let type, let problem):
            return "\(type) validation of \(identifier) failed: \(problem?.description ?? "no reason given")"
        case .noSolver(let identifier, let offered):
            return
                "no configured challenge solver for \(identifier); the server offers \(offered.joined(separator: ", "))"
        case .orderInvalid(let url, let problem):
            return "order \(url) became invalid: \(problem?.description ?? "no reason given")"
        case .timedOut(let what, let seconds):
            return "gave up waiting \(Int(seconds))s for \(what)"
        case .configuration(let text):
            return text
        }
    }
}
