import NIOHTTP1

/// A small answer of Canopy's own (an error page, a redirect) with every byte but the Date and
/// the connection line built once.
struct CannedAnswer: Sendable {
    let status: Int
    let statusLine: [UInt8]
    /// Header lines after Date, without the connection line and the blank line.
    let headers: [UInt8]
    let body: [UInt8]

    init(status: Int, extra: String = "", body: String?, title: String? = nil, cache: String = "no-store") {
        self.status = status
        let reason = HTTPResponseStatus(statusCode: status).reasonPhrase
        statusLine = Responder.statusLine(status)
        var lines = "Server: canopy\r\nCache-Control: \(cache)\r\n" + extra
        if let body {
            let html =
                "<!doctype html><html><head><meta charset=\"utf-8\"><title>\(title ?? "\(status) \(reason)")</title></head><body><h1>\(status) \(reason)</h1><p>\(body)</p><p><small>canopy</small></p></body></html>\n"
            lines += "Content-Type: text/html; charset=utf-8\r\nContent-Length: \(html.utf8.count)\r\n"
            self.body = Array(html.utf8)
        } else {
            self.body = []
        }
        headers = Array(lines.utf8)
    }
}
