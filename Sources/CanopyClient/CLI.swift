import CanopyAdminAPI
import Foundation

/// The CLI's side of the admin API's answers: errors as messages and exit codes, JSON as the
/// shared types.
public enum CLI {
    /// Turns an error answer into a message and exit code 1 (2 for authentication problems).
    public static func check(_ response: AdminClient.Response) throws {
        guard response.status >= 300 else { return }
        let message =
            (try? JSONDecoder().decode(ErrorBody.self, from: response.body))?.error ?? response.text
        if response.status == 401 {
            throw CLIError(message: "error: \(message)", code: 2)
        }
        throw CLIError(message: "error (\(response.status)): \(message)", code: 1)
    }

    public static func decode<T: Decodable>(_ type: T.Type, _ response: AdminClient.Response) throws -> T {
        try CanopyJSON.decoder().decode(T.self, from: response.body)
    }
}

/// A failure with a message for the person and an exit code.
public struct CLIError: Error, CustomStringConvertible {
    public var message: String
    public var code: Int32
    public var description: String { message }
}

extension AdminClient {
    /// Sends one of the admin API's request bodies as JSON and fails with the server's message on an
    /// error status.
    public func send(_ method: String, _ path: String, _ body: some Encodable) throws -> AdminClient.Response {
        try send(method, path, json: try CanopyJSON.encoder(pretty: false).encode(body))
    }

    /// Sends a request without a body; fails like `send(_:_:_:)`.
    public func send(_ method: String, _ path: String, json: Data? = nil) throws -> AdminClient.Response {
        // The audit log names who the token belongs to; a claimed actor header would be forgeable.
        let response = try request(method, path, json: json)
        try CLI.check(response)
        return response
    }
}

/// One path segment percent-encoded for the admin API's URLs.
public func encodePath(_ segment: String) -> String {
    segment.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-._~"))) ?? segment
}
