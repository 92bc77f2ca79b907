import NIOCore

extension Responder {
    /// Where ACME's HTTP-01 challenges are fetched (RFC 8555 §8.3).
    static let challengePrefix = "/.well-known/acme-challenge/"

    /// An HTTP-01 challenge on the cleartext listener, answered before any routing or redirect:
    /// the token's key authorization, or 404 for a token not being validated.
    static func challenge(
        _ uri: String, snapshot: EdgeSnapshot, _ out: inout ByteBuffer, _ context: ResponseContext
    ) -> EdgeResponse {
        let token = String(uri.dropFirst(challengePrefix.count).prefix { $0 != "?" && $0 != "#" })
        guard !token.isEmpty, !token.contains("/"), let answer = snapshot.challenges.keyAuthorization(token: token)
        else {
            return simple(404, &out, context, body: "No ACME challenge is pending for this token.")
        }
        out.writeBytes(statusLines[200]!)
        out.writeBytes(context.date)
        out.writeString(
            "Server: canopy\r\nCache-Control: no-store\r\nContent-Type: text/plain\r\nContent-Length: \(answer.utf8.count)\r\n"
        )
        endHeadForChallenge(&out, context)
        if context.isHead { return EdgeResponse(status: 200) }
        out.writeString(answer)
        return EdgeResponse(status: 200, bodyBytes: answer.utf8.count)
    }

    /// `308` to the same URL on HTTPS (`origin` is `https://host[:port]`).
    static func redirectToHTTPS(
        _ origin: String, _ uri: String, _ out: inout ByteBuffer, _ context: ResponseContext
    ) -> EdgeResponse {
        var path = uri
        if !uri.hasPrefix("/") {
            // Absolute form (`http://host/path?q`): keep the path and query.
            let afterScheme = uri.range(of: "://").map { uri[$0.upperBound...] } ?? Substring(uri)
            path = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }).map { String(afterScheme[$0...]) } ?? "/"
            if path.hasPrefix("?") { path = "/" + path }
        }
        let location = origin + path
        return simple(308, &out, context, extra: "Location: \(location)\r\n", body: "Moved to HTTPS: \(location)")
    }

    private static func endHeadForChallenge(_ out: inout ByteBuffer, _ context: ResponseContext) {
        if let line = context.connection { out.writeStaticString(line) }
        out.writeStaticString("\r\n")
    }
}
