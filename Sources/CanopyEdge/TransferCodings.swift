/// The transfer codings of a request's Transfer-Encoding lines, in order, and whether they frame
/// its body in a way every parser on the path agrees on (RFC 9112 §6.1, §6.3): `chunked` must be
/// the last coding and appear once; Content-Length alongside is refused (the classic smuggling
/// pair), and so is Transfer-Encoding in HTTP/1.0. What nginx 1.22 answers to each is the model
/// (400 for those, 501 for a coding it does not implement), except that a body whose last coding is
/// not `chunked` (`gzip` alone, `chunked, gzip`) is 400 as RFC 9112 §6.3 requires, where nginx says 501.
struct TransferCodings {
    private(set) var present = false
    private var codings = 0
    private var chunked = 0
    private var lastIsChunked = false
    private var emptyLine = false

    /// Adds the codings of one Transfer-Encoding line (`gzip, chunked`; parameters stay with theirs).
    mutating func add(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) {
        present = true
        var any = false
        var i = start
        while i < end {
            while i < end, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x2C { i += 1 }
            let tokenStart = i
            while i < end, bytes[i] != 0x2C { i += 1 }
            var tokenEnd = i
            while tokenEnd > tokenStart, bytes[tokenEnd - 1] == 0x20 || bytes[tokenEnd - 1] == 0x09 { tokenEnd -= 1 }
            guard tokenEnd > tokenStart else { continue }
            any = true
            codings += 1
            lastIsChunked = tokenEnd - tokenStart == 7 && RequestParser.matches(bytes, tokenStart, "chunked")
            if lastIsChunked { chunked += 1 }
        }
        if !any { emptyLine = true }
    }

    /// The status and reason that refuse the request, or nil when its body is plainly chunked.
    func refusal(http10: Bool, contentLength: Bool) -> (Int, String)? {
        if http10 { return (400, "Transfer-Encoding is not part of HTTP/1.0.") }
        if contentLength { return (400, "A request cannot have both Transfer-Encoding and Content-Length.") }
        if emptyLine || !lastIsChunked {
            return (400, "The body's length cannot be known: chunked must be the last transfer coding.")
        }
        if chunked > 1 { return (400, "The chunked coding is applied more than once.") }
        if codings > 1 { return (501, "Transfer codings other than chunked are not implemented.") }
        return nil
    }
}
