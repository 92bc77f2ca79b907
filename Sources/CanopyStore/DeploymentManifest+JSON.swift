import Foundation

extension DeploymentManifest {
    /// The manifest as the JSON `JSONEncoder` writes for it (keys sorted, slashes not escaped, dates
    /// as seconds since 2001), which `JSONDecoder` reads back, written directly: `JSONEncoder` took
    /// a fifth of a 10,000-file push.
    func jsonBytes() -> [UInt8] {
        var out = JSONBytes()
        out.reserve(256 + files.count * 200)
        out.append("{\"branch\":")
        out.string(branch)
        out.append(",\"commit\":")
        out.string(commit)
        out.append(",\"commitTime\":")
        out.number(commitTime.timeIntervalSinceReferenceDate)
        out.append(",\"createdAt\":")
        out.number(createdAt.timeIntervalSinceReferenceDate)
        out.append(",\"files\":{")
        // String order: byte order of the UTF-8, as JSONEncoder sorts, for names in normal form C.
        for (index, path) in files.keys.sorted().enumerated() {
            if index > 0 { out.append(",") }
            out.string(path)
            out.append(":")
            out.entry(files[path]!)
        }
        out.append("},\"id\":")
        out.string(id)
        out.append(",\"site\":")
        out.string(site)
        out.append("}")
        return out.bytes
    }
}

/// A JSON text being written, byte by byte.
private struct JSONBytes {
    var bytes: [UInt8] = []

    mutating func reserve(_ count: Int) { bytes.reserveCapacity(count) }

    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// As `JSONEncoder` writes a double: a whole number without `.0`, else the shortest form.
    mutating func number(_ value: Double) {
        if value == value.rounded(), abs(value) < 9_007_199_254_740_992 {
            number(Int64(value))
        } else {
            bytes.append(contentsOf: value.description.utf8)
        }
    }

    mutating func number(_ value: Int64) {
        bytes.append(contentsOf: String(value).utf8)
    }

    /// A string with `"`, `\` and the control characters escaped, everything else as it is.
    mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): append("\\\"")
            case UInt8(ascii: "\\"): append("\\\\")
            case 0x0A: append("\\n")
            case 0x0D: append("\\r")
            case 0x09: append("\\t")
            case 0x08: append("\\b")
            case 0x0C: append("\\f")
            case 0..<0x20:
                let digits = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: Array("\\u00".utf8) + [digits[Int(byte >> 4)], digits[Int(byte & 0xf)]])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func blob(_ blob: BlobRef) {
        append("{\"sha256\":")
        string(blob.sha256)
        append(",\"size\":")
        number(blob.size)
        append("}")
    }

    /// A file entry, its keys sorted, absent variants left out (as `encodeIfPresent` does).
    mutating func entry(_ entry: FileEntry) {
        append("{")
        if let brotli = entry.brotli {
            append("\"brotli\":")
            blob(brotli)
            append(",")
        }
        append("\"contentType\":")
        string(entry.contentType)
        if let gzip = entry.gzip {
            append(",\"gzip\":")
            blob(gzip)
        }
        append(",\"sha256\":")
        string(entry.sha256)
        append(",\"size\":")
        number(entry.size)
        if let zstd = entry.zstd {
            append(",\"zstd\":")
            blob(zstd)
        }
        append("}")
    }
}
