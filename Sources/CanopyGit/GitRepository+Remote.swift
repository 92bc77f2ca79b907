import CGit2
import Foundation

/// Holds credentials for libgit2's callback; counts attempts so that wrong credentials fail
/// instead of being offered forever.
private final class CredentialBox {
    let credentials: GitCredentials?
    var attempts = 0

    init(_ credentials: GitCredentials?) {
        self.credentials = credentials
    }
}

private let acquireCredential: git_credential_acquire_cb = { out, _, usernameFromURL, allowedTypes, payload in
    guard let payload else { return GIT_PASSTHROUGH.rawValue }
    let box = Unmanaged<CredentialBox>.fromOpaque(payload).takeUnretainedValue()
    box.attempts += 1
    guard box.attempts <= 2, let credentials = box.credentials else { return GIT_EAUTH.rawValue }
    let user = credentials.username ?? usernameFromURL.map { String(cString: $0) } ?? "git"
    if allowedTypes & GIT_CREDENTIAL_SSH_KEY.rawValue != 0, let key = credentials.sshKeyPath {
        return git_credential_ssh_key_new(out, user, nil, key, credentials.password)
    }
    if allowedTypes & GIT_CREDENTIAL_USERPASS_PLAINTEXT.rawValue != 0, let password = credentials.password {
        return git_credential_userpass_plaintext_new(out, user, password)
    }
    if allowedTypes & GIT_CREDENTIAL_USERNAME.rawValue != 0 {
        return git_credential_username_new(out, user)
    }
    return GIT_PASSTHROUGH.rawValue
}

/// Runs `body` with a `git_strarray` of `strings`.
func withStrArray<T>(_ strings: [String], _ body: (inout git_strarray) throws -> T) rethrows -> T {
    let pointers = strings.map { strdup($0) }
    defer { pointers.forEach { free($0) } }
    var array = pointers
    return try array.withUnsafeMutableBufferPointer { buffer in
        var strarray = git_strarray(strings: buffer.baseAddress, count: buffer.count)
        return try body(&strarray)
    }
}

/// The URL as it may appear in messages: any user:password@ part removed.
func redacted(_ url: String) -> String {
    guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@") else { return url }
    return String(url[..<scheme.upperBound]) + "***@" + String(url[url.index(after: at)...])
}

extension GitRepository {
    // MARK: Remotes

    /// The refs a remote advertises (`git ls-remote`), without fetching any object.
    public static func lsRemote(url: String, credentials: GitCredentials?) throws -> [GitRef] {
        _ = LibGit2.initialised
        var remote: OpaquePointer?
        try LibGit2.check(git_remote_create_detached(&remote, url), "ls-remote", repository: redacted(url))
        defer { git_remote_free(remote) }
        let box = CredentialBox(credentials)
        var callbacks = git_remote_callbacks()
        git_remote_init_callbacks(&callbacks, UInt32(GIT_REMOTE_CALLBACKS_VERSION))
        callbacks.credentials = acquireCredential
        callbacks.payload = Unmanaged.passUnretained(box).toOpaque()
        let code = withExtendedLifetime(box) { git_remote_connect(remote, GIT_DIRECTION_FETCH, &callbacks, nil, nil) }
        try LibGit2.check(code, "connect", repository: redacted(url))
        defer { git_remote_disconnect(remote) }
        var heads: UnsafeMutablePointer<UnsafePointer<git_remote_head>?>?
        var count = 0
        try LibGit2.check(git_remote_ls(&heads, &count, remote), "ls-remote", repository: redacted(url))
        var refs: [GitRef] = []
        for i in 0..<count {
            guard let head = heads?[i] else { continue }
            let name = String(cString: head.pointee.name)
            guard name.hasPrefix("refs/") else { continue }
            var oid = head.pointee.oid
            refs.append(GitRef(name: name, fullName: name, commit: hex(&oid)))
        }
        return refs
    }

    /// Fetches `refspecs` from `url` into this repository (a mirror), then deletes local refs under
    /// the refspecs' destinations that the remote no longer has, so deleted branches disappear.
    /// Returns the remote's advertised refs.
    @discardableResult
    public func fetch(remote url: String, refspecs: [String], credentials: GitCredentials?) throws -> [GitRef] {
        let advertised = try Self.lsRemote(url: url, credentials: credentials)
        var remote: OpaquePointer?
        try LibGit2.check(git_remote_create_anonymous(&remote, handle, url), "fetch", repository: redacted(url))
        defer { git_remote_free(remote) }
        let box = CredentialBox(credentials)
        var options = git_fetch_options()
        git_fetch_options_init(&options, UInt32(GIT_FETCH_OPTIONS_VERSION))
        options.callbacks.credentials = acquireCredential
        options.callbacks.payload = Unmanaged.passUnretained(box).toOpaque()
        options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE
        let code = withExtendedLifetime(box) {
            withStrArray(refspecs) { specs in git_remote_fetch(remote, &specs, &options, "canopy fetch") }
        }
        try LibGit2.check(code, "fetch", repository: redacted(url))

        // Prune: local refs under each refspec's destination that the remote does not advertise.
        let remoteNames = Set(advertised.map(\.fullName))
        for spec in refspecs {
            let parts = spec.trimmingCharacters(in: CharacterSet(charactersIn: "+")).split(separator: ":")
            guard parts.count == 2, parts[0] == parts[1] else { continue }
            for ref in try refs(matching: [String(parts[1])]) where !remoteNames.contains(ref.fullName) {
                var reference: OpaquePointer?
                guard git_reference_lookup(&reference, handle, ref.fullName) == 0 else { continue }
                defer { git_reference_free(reference) }
                try LibGit2.check(git_reference_delete(reference), "prune \(ref.fullName)", repository: path)
            }
        }
        return advertised
    }
}
