import CGit2

/// A libgit2 call failed: which operation, on which repository, and libgit2's own message.
public struct GitError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var repository: String
    public var code: Int32
    public var message: String

    public var description: String {
        "git \(operation) failed for \(repository): \(message) (libgit2 error \(code))"
    }
}

/// libgit2 is initialised once per process, before the first call.
enum LibGit2 {
    static let initialised: Bool = {
        git_libgit2_init()
        return true
    }()

    /// Checks a libgit2 return code; reads `git_error_last()` at once, in the same synchronous block
    /// as the failing call, as libgit2 requires.
    static func check(_ code: Int32, _ operation: @autoclosure () -> String, repository: String) throws {
        guard code < 0 else { return }
        let message = git_error_last().map { String(cString: $0.pointee.message) } ?? "unknown error"
        throw GitError(operation: operation(), repository: repository, code: code, message: message)
    }
}
