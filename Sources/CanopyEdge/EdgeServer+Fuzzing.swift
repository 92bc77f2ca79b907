import NIOCore

// Entry points for the fuzz targets (Sources/CanopyFuzzing), visible inside this package only.
// They reach the parsers and the connection handler exactly as a visitor's bytes do.

extension EdgeServer {
    /// A new connection handler for one visitor's connection, as the listener makes it (the start
    /// of every edge pipeline: HTTP/1.1 parsing, and the hand-over to HTTP/2 on its preface).
    package func makeConnectionHandler() -> any ChannelHandler {
        EdgeHandler(server: self, lane: 0)
    }
}

/// The request-head parser and the request-target normaliser, for fuzzing.
package enum EdgeParsing {
    /// Parses consecutive request heads from `bytes` as a connection would (pipelining, bodies
    /// skipped), until they run out or one is refused. Returns how many requests were parsed.
    package static func parseRequests(_ bytes: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        var count = 0
        while offset < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            switch RequestParser.parse(rest) {
            case .incomplete, .failure:
                return count
            case .request(let request, let length, let bodyLength):
                _ = try? RequestTarget.parse(request.uri)
                count += 1
                offset += max(1, length + bodyLength)
            }
        }
        return count
    }

    /// Normalises a request target; nil when it is refused.
    package static func normalisedPath(_ uri: String) -> String? {
        guard let target = try? RequestTarget.parse(uri) else { return nil }
        return target.path
    }
}
