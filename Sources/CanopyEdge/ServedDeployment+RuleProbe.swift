import CanopySpec
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// A request to answer in process, as a visitor's would be (`canopy-rules-test.yml`, rollout
/// health gates).
public struct RuleProbeRequest: Sendable, Hashable {
    /// `GET` or `HEAD`.
    public var method: String
    /// The path and query (`/old?x=1`).
    public var target: String
    public var host: String
    public var headers: [HeaderField]

    public init(method: String = "GET", target: String, host: String, headers: [HeaderField] = []) {
        self.method = method
        self.target = target
        self.host = host
        self.headers = headers
    }
}

/// What a deployment answered: status, header lines in order, and the body.
public struct RuleProbeResponse: Sendable, Hashable {
    public var status: Int
    public var headers: [HeaderField]
    public var body: [UInt8]
    /// Set when a proxy rule (a rewrite to an `http(s)://` URL) answers: the URL it would fetch.
    /// Nothing is fetched, and status, headers and body say nothing.
    public var proxy: String?

    /// Every value of a header (case-insensitive name), joined with `, `; nil when absent.
    public func header(_ name: String) -> String? {
        let values = headers.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
        return values.isEmpty ? nil : values.joined(separator: ", ")
    }
}

/// Answers requests against one deployment in process, exactly as the edge answers a visitor
/// (the same request parser, the same responder, rules included), without the network. The
/// deployment's route (basic auth, HTTPS redirects, splits) is not part of it. Reads file bodies
/// from the store: blocking, run it off the event loops.
public struct RuleProbe: Sendable {
    public let deployment: ServedDeployment
    /// Bodies are read up to this size (what `body_contains` looks at).
    static let bodyLimit: Int64 = 16 << 20

    public init(_ deployment: ServedDeployment) {
        self.deployment = deployment
    }

    public func answer(_ probe: RuleProbeRequest) -> RuleProbeResponse {
        var head = "\(probe.method) \(probe.target) HTTP/1.1\r\nHost: \(probe.host)\r\n"
        for field in probe.headers { head += "\(field.name): \(field.value)\r\n" }
        head += "\r\n"
        let parsed = Array(head.utf8).withUnsafeBytes { RequestParser.parse($0) }
        let request: EdgeRequest
        switch parsed {
        case .request(let r, _, _): request = r
        case .failure(let status, let reason, _):
            return RuleProbeResponse(status: status, headers: [], body: Array(reason.utf8))
        case .incomplete: return RuleProbeResponse(status: 400, headers: [], body: [])
        }
        guard let target = try? RequestTarget.parse(request.uri) else {
            return RuleProbeResponse(status: 400, headers: [], body: Array("Bad request path.".utf8))
        }
        let host = normaliseHost(target.host ?? request.host ?? probe.host)
        var context = Responder.ResponseContext(
            date: [], isHead: request.method == .head, route: nil, newVisitor: nil, host: host, connection: nil)
        var out = ByteBuffer()
        let response = Responder.serve(request, target: target, deployment: deployment, context: &context, out: &out)
        // A proxy rule took it: the responder says where the edge would send it, and nothing is fetched.
        if let proxy = response.proxy {
            return RuleProbeResponse(status: 200, headers: [], body: [], proxy: proxy.upstream.origin + proxy.uri)
        }
        var answer = Self.read(head: out)
        for part in response.body { answer.body += Self.bytes(of: part) }
        return answer
    }

    /// Status, headers and the inline body of the response bytes the responder wrote.
    static func read(head out: ByteBuffer) -> RuleProbeResponse {
        let bytes = Array(out.readableBytesView)
        var end = bytes.count
        for i in 0..<max(0, bytes.count - 3)
        where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            end = i
            break
        }
        let lines = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let status = lines.first.flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Int($0) } ?? 0
        let headers = lines.dropFirst().compactMap { line -> HeaderField? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let value = line[line.index(after: colon)...].drop { $0 == " " }
            return HeaderField(name: String(line[..<colon]), value: String(value))
        }
        return RuleProbeResponse(
            status: status, headers: headers, body: Array(bytes.dropFirst(min(bytes.count, end + 4))))
    }

    /// A body part's bytes: a buffer's, or read from its blob file (up to `bodyLimit`).
    static func bytes(of part: EdgeResponse.Part) -> [UInt8] {
        switch part {
        case .buffer(let buffer): return Array(buffer.readableBytesView)
        case .file(let blob, let offset, let length):
            var bytes = [UInt8](repeating: 0, count: Int(min(length, bodyLimit)))
            var done = 0
            _ = try? blob.handle(lane: 0).withUnsafeFileDescriptor { fd in
                bytes.withUnsafeMutableBytes { buffer in
                    while done < buffer.count {
                        let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
                        if n <= 0 { break }
                        done += n
                    }
                }
            }
            return Array(bytes.prefix(done))
        }
    }
}
