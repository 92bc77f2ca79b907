import Foundation

/// What went wrong in the deployment store, with the file involved and what to do about it.
public enum DeploymentStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The artifact folder to ingest does not exist or is not a directory.
    case notADirectory(path: String)
    /// A symbolic link was found inside the artifact folder; it is never followed.
    case symlinkRefused(path: String)
    /// Something other than a regular file or directory (FIFO, socket, device) was found.
    case unsupportedFileType(path: String)
    /// The store's folder could not be created.
    case cannotCreateStore(path: String, reason: String)
    /// A system call failed on `path`.
    case io(operation: String, path: String, errno: Int32)
    /// A deployment with this id is already stored.
    case duplicateDeployment(id: String)
    /// The id is not usable as a file name (empty, too long, or has characters outside `[a-z0-9._-]`).
    case invalidID(id: String)
    /// No manifest is stored for this id.
    case manifestNotFound(id: String, path: String)
    /// The manifest file exists but could not be decoded.
    case manifestCorrupt(id: String, path: String, reason: String)
    /// zlib failed while compressing `path`.
    case compressionFailed(path: String, code: Int32)

    public var description: String {
        switch self {
        case .notADirectory(let path):
            return "Cannot ingest '\(path)': it is not a directory. Check the build's artifact baseDirectory."
        case .symlinkRefused(let path):
            return
                "Refusing symbolic link '\(path)' in the build artifact: the store never follows links. "
                + "Replace it with the file it points to, or remove it."
        case .unsupportedFileType(let path):
            return "Refusing '\(path)' in the build artifact: only regular files and directories can be deployed."
        case .cannotCreateStore(let path, let reason):
            return "Cannot create the deployment store at '\(path)': \(reason). Check the data folder's permissions."
        case .io(let operation, let path, let code):
            return "\(operation) failed for '\(path)': \(String(cString: strerror(code))) (errno \(code))."
        case .duplicateDeployment(let id):
            return "A deployment with id '\(id)' already exists; deployments are immutable. Use a new id."
        case .invalidID(let id):
            return "Invalid deployment id '\(id)': use 1-128 characters from a-z, 0-9, '.', '_' and '-'."
        case .manifestNotFound(let id, let path):
            return "No deployment '\(id)' in the store (no file at '\(path)')."
        case .manifestCorrupt(let id, let path, let reason):
            return "The manifest of deployment '\(id)' at '\(path)' cannot be read: \(reason)."
        case .compressionFailed(let path, let code):
            return "zlib failed (code \(code)) while making the gzip variant of '\(path)'."
        }
    }
}
