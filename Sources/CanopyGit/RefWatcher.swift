import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Watches local repositories' refs with inotify, so that a push to any bare repository on this
/// machine (one Canopy did not create: plain `git init --bare`, Gitea's or gitolite's folders,
/// without Canopy's post-receive hook) deploys at once instead of at the next poll.
///
/// Git updates a branch by renaming `refs/heads/<name>.lock` over `refs/heads/<name>`, and packs refs
/// by renaming `packed-refs.lock` over `packed-refs`; both show as `IN_MOVED_TO` (deletions as
/// `IN_DELETE`). `refs/` is watched folder by folder (inotify is not recursive; new folders such as
/// `refs/heads/feature/` are added as they appear), and the repository folder for `packed-refs`.
/// One thread reads the events and yields the repository's path to ``events``.
///
/// `@unchecked Sendable`: the watch table is only touched under `lock`; the descriptor is written
/// once at init and closed by the reading thread when it stops.
public final class RefWatcher: @unchecked Sendable {
    /// The path of each repository whose refs changed (coalesce as you like).
    public let events: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation
    private let lock = NSLock()
    private var state = State()
    private let fd: Int32
    /// Where problems go (a folder that cannot be watched): the server's debug log.
    private let log: @Sendable (String) -> Void

    private struct State {
        /// Watch descriptor → (repository, folder watched).
        var watches: [Int32: (repository: String, folder: String)] = [:]
        var repositories: Set<String> = []
        var stopped = false
    }

    /// Throws when inotify is not available (the poll interval then applies).
    public init(log: @escaping @Sendable (String) -> Void = { _ in }) throws {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw RefWatcherUnavailable(reason: String(cString: strerror(errno))) }
        self.fd = fd
        self.log = log
        (events, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(64))
        let thread = Thread { [self] in self.readLoop() }
        thread.name = "canopy-ref-watcher"
        thread.start()
    }

    private func withState<T>(_ body: (inout State) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&state)
    }

    /// Watches exactly these repositories (paths of bare repositories or work trees).
    public func watch(_ repositories: Set<String>) {
        withState { state in
            guard !state.stopped, repositories != state.repositories else { return }
            for (wd, watch) in state.watches where !repositories.contains(watch.repository) {
                inotify_rm_watch(fd, wd)
                state.watches[wd] = nil
            }
            for repository in repositories.subtracting(state.repositories) {
                let gitDir =
                    FileManager.default.fileExists(atPath: repository + "/.git") ? repository + "/.git" : repository
                add(gitDir, repository: repository, recursive: false, into: &state)
                add(gitDir + "/refs", repository: repository, recursive: true, into: &state)
            }
            state.repositories = repositories
        }
    }

    /// Stops the thread and closes the descriptor.
    public func stop() {
        withState { $0.stopped = true }
        continuation.finish()
    }

    private static let mask = UInt32(IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_CLOSE_WRITE)

    private func add(_ folder: String, repository: String, recursive: Bool, into state: inout State) {
        let wd = inotify_add_watch(fd, folder, Self.mask | UInt32(IN_ONLYDIR))
        guard wd >= 0 else {
            log("cannot watch \(folder): \(String(cString: strerror(errno)))")
            return
        }
        state.watches[wd] = (repository, folder)
        guard recursive, let entries = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for entry in entries {
            var isFolder: ObjCBool = false
            let path = folder + "/" + entry
            if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
                add(path, repository: repository, recursive: true, into: &state)
            }
        }
    }

    private func readLoop() {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while !withState({ $0.stopped }) {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 500) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { continue }
            var changed: Set<String> = []
            buffer.withUnsafeBytes { bytes in
                var offset = 0
                while offset + MemoryLayout<inotify_event>.size <= count {
                    let base = bytes.baseAddress! + offset
                    let wd = base.loadUnaligned(fromByteOffset: 0, as: Int32.self)
                    let mask = base.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
                    let length = Int(base.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
                    let nameStart = base + MemoryLayout<inotify_event>.size
                    let name = length > 0 ? String(cString: nameStart.assumingMemoryBound(to: CChar.self)) : ""
                    offset += MemoryLayout<inotify_event>.size + length
                    handle(wd: wd, mask: mask, name: name, changed: &changed)
                }
            }
            for repository in changed { continuation.yield(repository) }
        }
        close(fd)
    }

    private func handle(wd: Int32, mask: UInt32, name: String, changed: inout Set<String>) {
        withState { state in
            guard let watch = state.watches[wd] else { return }
            if mask & UInt32(IN_IGNORED) != 0 {
                state.watches[wd] = nil
                return
            }
            let isFolder = mask & UInt32(IN_ISDIR) != 0
            if isFolder, mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0, watch.folder.contains("/refs") {
                // A branch in a new folder (`feature/one`): git may have renamed its ref into place
                // before the folder is watched, so the folder's appearance is a change itself.
                add(watch.folder + "/" + name, repository: watch.repository, recursive: true, into: &state)
                changed.insert(watch.repository)
            }
            let inRefs = watch.folder.hasSuffix("/refs") || watch.folder.contains("/refs/")
            let relevant = inRefs ? !name.hasSuffix(".lock") : name == "packed-refs"
            if relevant && (!isFolder || mask & UInt32(IN_DELETE | IN_MOVED_FROM) != 0) {
                changed.insert(watch.repository)
            }
        }
    }
}

/// inotify cannot be used here (a kernel without it, or the instance limit reached).
public struct RefWatcherUnavailable: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { "inotify is not available (\(reason))" }
}
