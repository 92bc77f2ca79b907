import Foundation

/// A temporary folder removed when the last reference to it goes.
public final class TempFolder: Sendable {
    public let path: String

    /// A fresh folder named `canopy-<label>-…` in the system's temporary folder.
    public init(_ label: String = "test") throws {
        path = try makeTemporaryDirectory(label)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `data` at `relative` (creating folders) and returns the full path.
    @discardableResult
    public func write(_ relative: String, _ data: Data) throws -> String {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: full))
        return full
    }

    /// Writes `text` as UTF-8 at `relative` (creating folders) and returns the full path.
    @discardableResult
    public func write(_ relative: String, _ text: String) throws -> String {
        try write(relative, Data(text.utf8))
    }
}
