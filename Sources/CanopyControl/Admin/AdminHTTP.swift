import CanopyAdminAPI
import Foundation
import NIOCore
import NIOHTTP1

/// A request to the admin listener, body fully read.
public struct AdminRequest: Sendable {
    public var method: HTTPMethod
    public var path: String
    public var query: [String: String]
    public var headers: HTTPHeaders
    public var body: ByteBuffer

    init(head: HTTPRequestHead, body: ByteBuffer) {
        method = head.method
        headers = head.headers
        self.body = body
        let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let rawPath = String(parts.first ?? "/")
        path = rawPath.removingPercentEncoding ?? rawPath
        // Split before decoding, so that an encoded slash stays inside its segment (`feature%2Flogin`).
        segments = rawPath.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
        self.query = parts.count > 1 ? URLEncodedForm.decode(parts[1]) : [:]
    }

    /// Path components after the leading slash, each percent-decoded (`/api/v1/sites/a` → `["api", "v1", "sites", "a"]`).
    public var segments: [String]

    public var bodyString: String { String(buffer: body) }

    public func decodeJSON<T: Decodable>(_ type: T.Type) throws -> T {
        do {
            return try CanopyJSON.decoder().decode(T.self, from: Data(body.readableBytesView))
        } catch {
            throw AdminError(.badRequest, "the request body is not the JSON this route expects: \(error)")
        }
    }
}

/// An answer from the admin listener.
public struct AdminResponse: Sendable {
    public enum Body: Sendable {
        case bytes(ByteBuffer)
        /// Streamed in chunks as they come (log follow, server-sent events).
        case stream(AsyncStream<String>)
    }

    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: Body

    public init(status: HTTPResponseStatus = .ok, headers: HTTPHeaders = [:], body: Body) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func text(
        _ text: String, status: HTTPResponseStatus = .ok, contentType: String = "text/plain; charset=utf-8"
    )
        -> AdminResponse
    {
        AdminResponse(
            status: status, headers: ["Content-Type": contentType], body: .bytes(ByteBuffer(string: text)))
    }

    public static func json<T: Encodable>(_ value: T, status: HTTPResponseStatus = .ok) -> AdminResponse {
        let data = (try? CanopyJSON.encoder().encode(value)) ?? Data("{}".utf8)
        return AdminResponse(
            status: status, headers: ["Content-Type": "application/json"],
            body: .bytes(ByteBuffer(bytes: data + Data("\n".utf8))))
    }

    public static func error(_ status: HTTPResponseStatus, _ message: String) -> AdminResponse {
        json(ErrorBody(error: message), status: status)
    }
}

/// An error a route answers with a status and a message.
public struct AdminError: Error, Sendable {
    public var status: HTTPResponseStatus
    public var message: String

    public init(_ status: HTTPResponseStatus, _ message: String) {
        self.status = status
        self.message = message
    }
}
