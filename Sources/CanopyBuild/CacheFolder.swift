import Foundation

/// Where a branch's build cache lives.
public enum CacheFolder {
    /// The folder (relative to a site's cache folder) of one branch's cache: the exact branch name,
    /// percent-encoded (`feature/x` → `feature%2Fx`), so that two branches never share a cache even
    /// when their DNS labels collide (`Main` and `main`). Names longer than a file name allows are
    /// split into nested folders, each but the last ending in `+` (which the encoding never leaves
    /// at the end of a name), so that no branch's folder is inside another's.
    public static func name(branch: String) -> String {
        var encoded = ""
        for byte in branch.utf8 {
            let safe =
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
                || (byte == UInt8(ascii: ".") && !encoded.isEmpty)
            encoded += safe ? String(UnicodeScalar(byte)) : String(format: "%%%02X", byte)
        }
        if encoded.isEmpty { return "%" }
        var chunks: [String] = []
        var rest = Substring(encoded)
        while rest.count > 200 {
            chunks.append(String(rest.prefix(200)) + "+")
            rest = rest.dropFirst(200)
        }
        chunks.append(String(rest))
        return chunks.joined(separator: "/")
    }
}
