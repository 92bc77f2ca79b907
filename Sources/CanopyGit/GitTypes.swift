import Foundation

/// A reference and the commit it points at.
public struct GitRef: Sendable, Hashable {
    /// `feature/x` for `refs/heads/feature/x`; the full name for other refs.
    public var name: String
    public var fullName: String
    /// The commit id, 40 hex digits.
    public var commit: String

    public init(name: String, fullName: String, commit: String) {
        self.name = name
        self.fullName = fullName
        self.commit = commit
    }
}

/// What a commit says about itself.
public struct GitCommit: Sendable, Hashable {
    public var oid: String
    public var message: String
    /// The first line of the message.
    public var summary: String
    public var authorName: String
    public var authorEmail: String
    public var time: Date

    public init(oid: String, message: String, summary: String, authorName: String, authorEmail: String, time: Date) {
        self.oid = oid
        self.message = message
        self.summary = summary
        self.authorName = authorName
        self.authorEmail = authorEmail
        self.time = time
    }
}

/// How to authenticate to a remote repository. Never logged, never put in an error message.
public struct GitCredentials: Sendable, Hashable, CustomStringConvertible {
    public var username: String?
    public var password: String?
    public var sshKeyPath: String?

    public init(username: String? = nil, password: String? = nil, sshKeyPath: String? = nil) {
        self.username = username
        self.password = password
        self.sshKeyPath = sshKeyPath
    }

    public var description: String {
        "GitCredentials(username: \(username ?? "-"), password: \(password == nil ? "-" : "***"))"
    }
}
