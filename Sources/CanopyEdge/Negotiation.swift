/// `Accept-Encoding` with q-values: the best coding among those a file has.
enum EncodingNegotiation {
    /// Preference when equally acceptable: br, zstd, gzip, identity.
    static let preference: [ContentCoding] = [.brotli, .zstd, .gzip, .identity]

    /// Reads the header in one pass over its bytes, without allocating (it runs on every request
    /// for a compressible file).
    static func chooseAmong(_ header: String, available: Set<ContentCoding>) -> ContentCoding {
        choose(header) { available.contains($0) }
    }

    @inline(__always)
    static func choose(_ header: String, has: (ContentCoding) -> Bool) -> ContentCoding {
        var header = header
        // Quality per coding as listed; nil when the header does not name it. Later items win.
        var br: Double?
        var zstd: Double?
        var gzip: Double?
        var xGzip: Double?
        var identity: Double?
        var star: Double?
        header.withUTF8 { bytes in
            let n = bytes.count
            var i = 0
            while i < n {
                while i < n, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x2C { i += 1 }
                let nameStart = i
                while i < n, bytes[i] != 0x2C, bytes[i] != 0x3B, bytes[i] != 0x20, bytes[i] != 0x09 { i += 1 }
                let nameEnd = i
                var quality = 1.0
                while i < n, bytes[i] != 0x2C {
                    guard bytes[i] == 0x3B else {
                        i += 1
                        continue
                    }
                    i += 1
                    while i < n, bytes[i] == 0x20 || bytes[i] == 0x09 { i += 1 }
                    guard i + 1 < n, bytes[i] | 0x20 == 0x71, bytes[i + 1] == 0x3D else { continue }  // q=
                    i += 2
                    let valueStart = i
                    while i < n, bytes[i] != 0x2C, bytes[i] != 0x3B, bytes[i] != 0x20, bytes[i] != 0x09 { i += 1 }
                    quality = qvalue(UnsafeBufferPointer(rebasing: bytes[valueStart..<i]))
                }
                let name = UnsafeBufferPointer(rebasing: bytes[nameStart..<nameEnd])
                if equalsLowercase(name, "gzip") {
                    gzip = quality
                } else if equalsLowercase(name, "br") {
                    br = quality
                } else if equalsLowercase(name, "zstd") {
                    zstd = quality
                } else if equalsLowercase(name, "identity") {
                    identity = quality
                } else if equalsLowercase(name, "x-gzip") {
                    xGzip = quality
                } else if equalsLowercase(name, "*") {
                    star = quality
                }
            }
        }
        func quality(_ coding: ContentCoding) -> Double {
            switch coding {
            case .brotli: return br ?? star ?? 0
            case .zstd: return zstd ?? star ?? 0
            case .gzip: return gzip ?? xGzip ?? star ?? 0
            case .identity: return identity ?? star ?? 1
            }
        }
        var best: ContentCoding = .identity
        var bestQ = -1.0
        for coding in preference where has(coding) {
            let value = quality(coding)
            if value > 0 && value > bestQ {
                best = coding
                bestQ = value
            }
        }
        return best
    }

    /// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, read leniently; unreadable
    /// values count as 0 (not acceptable).
    static func qvalue(_ bytes: UnsafeBufferPointer<UInt8>) -> Double {
        guard let first = bytes.first, first == 0x30 || first == 0x31 else { return 0 }
        var value = Double(first - 0x30)
        guard bytes.count > 1 else { return value }
        guard bytes[1] == 0x2E else { return 0 }
        var scale = 0.1
        for b in bytes.dropFirst(2) {
            guard b >= 0x30 && b <= 0x39 else { return 0 }
            value += Double(b - 0x30) * scale
            scale /= 10
        }
        return min(value, 1)
    }

    @inline(__always)
    static func equalsLowercase(_ bytes: UnsafeBufferPointer<UInt8>, _ lower: StaticString) -> Bool {
        guard bytes.count == lower.utf8CodeUnitCount else { return false }
        let pointer = lower.utf8Start
        for k in 0..<bytes.count where bytes[k] | 0x20 != pointer[k] { return false }
        return true
    }
}

/// A `Range: bytes=…` header against a length.
enum ByteRanges {
    enum Result: Equatable {
        case none
        case unsatisfiable
        case ranges([ClosedRange<Int64>])
    }

    /// More ranges than this in one request are ignored (nginx's `max_ranges`, unlimited there by default).
    static let maxRanges = 16

    static func parse(_ header: String, length: Int64) -> Result {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.lowercased().hasPrefix("bytes=") else { return .none }
        var ranges: [ClosedRange<Int64>] = []
        for spec in trimmed.dropFirst(6).split(separator: ",") {
            let part = spec.trimmingCharacters(in: .whitespaces)
            guard let dash = part.firstIndex(of: "-") else { return .none }
            let first = part[..<dash]
            let last = part[part.index(after: dash)...]
            if first.isEmpty {
                guard let suffix = Int64(last), suffix >= 0 else { return .none }
                if suffix == 0 || length == 0 { continue }
                ranges.append(max(0, length - suffix)...(length - 1))
            } else {
                guard let start = Int64(first), start >= 0 else { return .none }
                let end: Int64
                if last.isEmpty {
                    end = length - 1
                } else {
                    guard let e = Int64(last), e >= start else { return .none }
                    end = min(e, length - 1)
                }
                if start >= length { continue }
                ranges.append(start...end)
            }
        }
        if ranges.isEmpty { return .unsatisfiable }
        // Overlapping or too many ranges are a known amplification (16 × `0-` is 16 copies): as nginx
        // does, ranges that add up to more than the whole, or more than `maxRanges` of them, are
        // ignored and the whole representation is sent (200).
        if ranges.count > maxRanges { return .none }
        var total: Int64 = 0
        for range in ranges { total += range.upperBound - range.lowerBound + 1 }
        if total > length { return .none }
        return .ranges(ranges)
    }
}

/// ETag list matching for If-None-Match (weak) and If-Match (strong).
enum ETagMatch {
    static func weakMatch(_ header: String, _ etag: String) -> Bool {
        let wanted = strip(etag)
        return header.split(separator: ",").contains { item in
            let tag = item.trimmingCharacters(in: .whitespaces)
            return tag == "*" || strip(tag) == wanted
        }
    }

    static func strongMatch(_ header: String, _ etag: String) -> Bool {
        header.split(separator: ",").contains { item in
            let tag = item.trimmingCharacters(in: .whitespaces)
            return tag == "*" || (!tag.hasPrefix("W/") && tag == etag)
        }
    }

    static func strip(_ tag: String) -> String {
        tag.hasPrefix("W/") ? String(tag.dropFirst(2)) : tag
    }
}
