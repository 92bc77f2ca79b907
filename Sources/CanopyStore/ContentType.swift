/// Maps a served path to its `Content-Type` header value by file extension.
public enum ContentType {
    /// The fallback for unknown extensions.
    public static let defaultType = "application/octet-stream"

    /// The `Content-Type` for `path`, chosen by its (case-insensitive) extension. Text types carry
    /// `; charset=utf-8`; unknown extensions give `application/octet-stream`.
    public static func forPath(_ path: String) -> String {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return defaultType }
        let ext = name[name.index(after: dot)...].lowercased()
        return table[ext] ?? defaultType
    }

    private static let utf8 = "; charset=utf-8"

    private static let table: [String: String] = [
        // Text
        "html": "text/html" + utf8,
        "htm": "text/html" + utf8,
        "css": "text/css" + utf8,
        "js": "text/javascript" + utf8,
        "mjs": "text/javascript" + utf8,
        "cjs": "text/javascript" + utf8,
        "txt": "text/plain" + utf8,
        "csv": "text/csv" + utf8,
        "md": "text/markdown" + utf8,
        "markdown": "text/markdown" + utf8,
        "xml": "application/xml" + utf8,
        "rss": "application/rss+xml" + utf8,
        "atom": "application/atom+xml" + utf8,
        "json": "application/json" + utf8,
        "map": "application/json" + utf8,
        "jsonld": "application/ld+json" + utf8,
        "webmanifest": "application/manifest+json" + utf8,
        "yaml": "application/yaml" + utf8,
        "yml": "application/yaml" + utf8,
        "toml": "application/toml" + utf8,
        "svg": "image/svg+xml" + utf8,
        "ics": "text/calendar" + utf8,
        "vtt": "text/vtt" + utf8,
        // Images
        "png": "image/png",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "gif": "image/gif",
        "webp": "image/webp",
        "avif": "image/avif",
        "ico": "image/x-icon",
        "bmp": "image/bmp",
        "tif": "image/tiff",
        "tiff": "image/tiff",
        // Fonts
        "woff": "font/woff",
        "woff2": "font/woff2",
        "ttf": "font/ttf",
        "otf": "font/otf",
        "eot": "application/vnd.ms-fontobject",
        // Media
        "mp4": "video/mp4",
        "webm": "video/webm",
        "ogv": "video/ogg",
        "mp3": "audio/mpeg",
        "wav": "audio/wav",
        "ogg": "audio/ogg",
        "oga": "audio/ogg",
        "m4a": "audio/mp4",
        "flac": "audio/flac",
        // Applications and archives
        "pdf": "application/pdf",
        "wasm": "application/wasm",
        "zip": "application/zip",
        "gz": "application/gzip",
        "tgz": "application/gzip",
        "br": "application/x-brotli",
        "zst": "application/zstd",
        "tar": "application/x-tar",
        "7z": "application/x-7z-compressed",
        "bin": "application/octet-stream",
    ]
}
