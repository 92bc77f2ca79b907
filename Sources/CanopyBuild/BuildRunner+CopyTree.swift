import Foundation

extension BuildRunner {
    /// Copies the folder `source` to `destination` (which must not exist; its parent is created).
    /// Symbolic links are copied as links. Used for scratch copies and the build cache.
    public static func copyTree(from source: String, to destination: String) throws {
        let parent = (destination as NSString).deletingLastPathComponent
        if !parent.isEmpty {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        }
        try FileManager.default.copyItem(atPath: source, toPath: destination)
    }
}
