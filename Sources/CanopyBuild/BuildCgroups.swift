import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The folder where a root server (or one given a delegated subtree) makes one cgroup per build:
/// its memory limit (`memory.max`; v1 `memory.limit_in_bytes`) and process limit (`pids.max`)
/// hold for all of the build's processes together, the kernel's OOM killer acts inside it alone,
/// and its OOM kills are counted (`memory.events`; v1 `memory.oom_control`). The folder is a child
/// of the server's own cgroup, named after the server's uid range, so limits above the server
/// still hold and two servers never share one. See the kernel's Documentation/admin-guide/cgroup-v2.rst
/// ("Delegation", "memory.max", "cgroup.kill") and cgroup-v1/memory.rst.
public struct BuildCgroups: Sendable, Equatable {
    public enum Version: String, Sendable {
        case v2 = "cgroup v2"
        case v1 = "cgroup v1"
    }

    public let version: Version
    /// v2: the folder holding the builds' cgroups; v1: that folder in the memory hierarchy.
    public let parent: String
    /// v1: that folder in the pids hierarchy, when it is mounted and writable.
    public let pidsParent: String?

    /// For the log: `cgroup v1 (memory in /sys/fs/cgroup/memory/…, pids in …)`.
    public var description: String {
        switch version {
        case .v2: return "cgroup v2 in \(parent)"
        case .v1: return "cgroup v1, memory in \(parent)" + (pidsParent.map { ", pids in \($0)" } ?? "")
        }
    }

    /// Makes (or reuses) the folder `name` for builds' cgroups: under the unified hierarchy when
    /// it offers the memory controller, else under the v1 memory hierarchy. Returns why neither
    /// works when the server cannot make one (not root, read-only, no memory controller). Blocking.
    public static func prepare(name: String, places: CgroupPlaces = .current()) -> Result<BuildCgroups, Problem> {
        var reasons: [String] = []
        if let unified = places.unified {
            switch prepareUnified(unified, name: name) {
            case .success(let made): return .success(made)
            case .failure(let problem): reasons.append(problem.description)
            }
        } else {
            reasons.append("no cgroup v2 hierarchy is mounted")
        }
        if let memory = places.memoryV1 {
            let parent = memory + "/" + name
            if mkdir(parent, 0o755) == 0 || errno == EEXIST {
                var pids: String?
                if let folder = places.pidsV1, mkdir(folder + "/" + name, 0o755) == 0 || errno == EEXIST {
                    pids = folder + "/" + name
                }
                return .success(BuildCgroups(version: .v1, parent: parent, pidsParent: pids))
            }
            reasons.append("cannot create \(parent): \(String(cString: strerror(errno)))")
        } else {
            reasons.append("no cgroup v1 memory hierarchy is mounted")
        }
        return .failure(Problem(description: reasons.joined(separator: "; ")))
    }

    /// v2's rule: a cgroup with processes cannot hand controllers to children ("no internal
    /// processes"), except the root. When the server's cgroup has the server alone in it (a
    /// systemd service with `Delegate=yes`), the server moves into a leaf of its own first.
    private static func prepareUnified(_ own: String, name: String) -> Result<BuildCgroups, Problem> {
        let available = (CgroupFile.read(own + "/cgroup.controllers") ?? "").split(separator: " ").map {
            $0.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard available.contains("memory") else {
            return .failure(
                Problem(
                    description: "the cgroup v2 hierarchy offers no memory controller to \(own) "
                        + "(it is bound to cgroup v1, or not delegated)"))
        }
        let enable = ["memory", "pids"].filter(available.contains).map { "+" + $0 }.joined(separator: " ")
        var status = CgroupFile.write(own + "/cgroup.subtree_control", enable)
        if status == EBUSY {
            let leaf = own + "/canopy-server"
            guard mkdir(leaf, 0o755) == 0 || errno == EEXIST else {
                return .failure(Problem("cannot create \(leaf)", errno))
            }
            let moved = CgroupFile.write(leaf + "/cgroup.procs", "\(getpid())")
            guard moved == 0 else { return .failure(Problem("cannot move the server into \(leaf)", moved)) }
            status = CgroupFile.write(own + "/cgroup.subtree_control", enable)
        }
        guard status == 0 else {
            return .failure(
                Problem(
                    "cannot enable the memory controller for children of \(own) (other processes share it?)", status))
        }
        let parent = own + "/" + name
        guard mkdir(parent, 0o755) == 0 || errno == EEXIST else {
            return .failure(Problem("cannot create \(parent)", errno))
        }
        let delegated = CgroupFile.write(parent + "/cgroup.subtree_control", enable)
        guard delegated == 0 else { return .failure(Problem("cannot enable \(enable) in \(parent)", delegated)) }
        return .success(BuildCgroups(version: .v2, parent: parent, pidsParent: nil))
    }

    /// One build's cgroup, `build-<id>`, with its limits set. Blocking.
    public func make(buildID: String, memoryBytes: Int?, processes: Int?) -> Result<BuildCgroup, Problem> {
        let name = "build-" + String(buildID.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }.prefix(64))
        var folders = [parent + "/" + name]
        if let pidsParent { folders.append(pidsParent + "/" + name) }
        for folder in folders where mkdir(folder, 0o755) != 0 && errno != EEXIST {
            return .failure(Problem("cannot create the build's cgroup \(folder)", errno))
        }
        let cgroup = BuildCgroup(version: version, folders: folders)
        if let problem = cgroup.setLimits(memoryBytes: memoryBytes, processes: processes) {
            _ = cgroup.remove()
            return .failure(problem)
        }
        return .success(cgroup)
    }

    /// At start: the cgroups of builds a server that died left (their processes first). Blocking.
    /// Returns how many there were.
    public func removeLeftovers() -> Int {
        var found = 0
        for folder in [parent] + (pidsParent.map { [$0] } ?? []) {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            where name.hasPrefix("build-") {
                found += folder == parent ? 1 : 0
                _ = BuildCgroup(version: version, folders: [folder + "/" + name]).remove()
            }
        }
        return found
    }

    /// When the server stops: removes the folder of builds' cgroups (when no build's is left in it).
    public func removeFolders() {
        rmdir(parent)
        if let pidsParent { rmdir(pidsParent) }
    }

    /// Why a cgroup could not be made or set up.
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String

        init(description: String) { self.description = description }

        init(_ what: String, _ code: Int32) {
            description = what + ": " + String(cString: strerror(code))
        }
    }
}

/// Reads and writes of cgroup files (small, whole, one `write` each as the kernel wants).
enum CgroupFile {
    static func read(_ path: String) -> String? {
        try? String(contentsOfFile: path, encoding: .utf8)
    }

    /// 0, or the errno of the failed open or write.
    static func write(_ path: String, _ text: String) -> Int32 {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        return written == bytes.count ? 0 : (written < 0 ? errno : EIO)
    }

    /// The number after `key ` in a flat-keyed file (`memory.events`, `memory.oom_control`).
    static func value(_ key: String, in text: String?) -> Int? {
        for line in (text ?? "").split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2, fields[0] == key { return Int(fields[1]) }
        }
        return nil
    }
}
