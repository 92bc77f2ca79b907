import CanopySpec

/// Why a build failed. `description` reads like
/// `amplify.yml:12:11: command \`npm test\` in test/test exited with status 1`.
public struct BuildFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// The stage that failed, or nil for failures outside the stages (cache, artifacts, setup).
    public var stage: BuildStage.Kind?
    public var phase: String?
    /// The failing command's text.
    public var command: String?
    /// Where the failing command is written.
    public var location: SourceLocation?
    public var exitCode: Int32?
    /// What went wrong and what to do, without the location.
    public var message: String

    public init(
        stage: BuildStage.Kind? = nil, phase: String? = nil, command: String? = nil,
        location: SourceLocation? = nil, exitCode: Int32? = nil, message: String
    ) {
        self.stage = stage
        self.phase = phase
        self.command = command
        self.location = location
        self.exitCode = exitCode
        self.message = message
    }

    public var description: String {
        if let location { return "\(location): \(message)" }
        return message
    }
}
