/// A position in a source file. Lines and columns count from 1.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// One finding about a spec file: an error (the file is refused) or a warning (it is used anyway).
public struct SpecDiagnostic: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable {
        case error
        case warning
    }

    public var severity: Severity
    public var location: SourceLocation
    public var message: String

    public init(_ severity: Severity, at location: SourceLocation, _ message: String) {
        self.severity = severity
        self.location = location
        self.message = message
    }

    /// `file:line:column: error: message`, the form compilers use and editors understand.
    public var description: String { "\(location): \(severity.rawValue): \(message)" }

    /// As a build log writes it, with the same prefix as the runner's own warnings.
    public var logLine: String { "## \(severity == .warning ? "Warning" : "Error"): \(location): \(message)" }
}

/// A spec file was refused. Carries every error found, each with its file:line:column.
public struct SpecError: Error, Sendable, Hashable, CustomStringConvertible {
    public var diagnostics: [SpecDiagnostic]

    public init(_ diagnostics: [SpecDiagnostic]) {
        self.diagnostics = diagnostics
    }

    public init(at location: SourceLocation, _ message: String) {
        self.diagnostics = [SpecDiagnostic(.error, at: location, message)]
    }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
