import Foundation

/// Decides which content types are worth compressing at ingest.
public enum Compressibility {
    /// `true` for textual types (text, JSON, XML, JavaScript, SVG, manifests, YAML, …), uncompressed
    /// fonts (ttf, otf, eot), `application/wasm` and icons; `false` for already-compressed media
    /// (images, woff/woff2, audio, video, archives, pdf).
    public static func isCompressible(contentType: String) -> Bool {
        let mime =
            contentType.split(separator: ";", maxSplits: 1).first.map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            } ?? ""
        if mime.hasPrefix("text/") { return true }
        if mime.hasSuffix("+json") || mime.hasSuffix("+xml") { return true }
        return compressible.contains(mime)
    }

    private static let compressible: Set<String> = [
        "application/json", "application/xml", "application/javascript", "application/yaml",
        "application/toml", "application/wasm", "application/vnd.ms-fontobject",
        "image/svg+xml", "image/x-icon", "image/bmp", "font/ttf", "font/otf",
    ]
}
