import Foundation

/// Where this process's cgroups are, as folders: read from `/proc/self/mountinfo` (which
/// hierarchies are mounted where, and from which root) and `/proc/self/cgroup` (the process's path
/// in each). A machine may have the unified hierarchy (cgroup v2) alone, v1 hierarchies alone, or
/// both (a "hybrid": v1 controllers, and a v2 hierarchy with none of them at
/// `/sys/fs/cgroup/unified`). See the kernel's Documentation/admin-guide/cgroup-v2.rst.
public struct CgroupPlaces: Sendable, Equatable {
    /// The process's cgroup in the unified (v2) hierarchy; nil when it is not mounted.
    public var unified: String?
    /// The process's cgroup in the v1 hierarchy of the memory controller; nil when none.
    public var memoryV1: String?
    /// The process's cgroup in the v1 hierarchy of the pids controller; nil when none.
    public var pidsV1: String?

    public init(unified: String? = nil, memoryV1: String? = nil, pidsV1: String? = nil) {
        self.unified = unified
        self.memoryV1 = memoryV1
        self.pidsV1 = pidsV1
    }

    /// This process's, from /proc. Blocking.
    public static func current() -> CgroupPlaces {
        let mountInfo = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        let cgroups = (try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) ?? ""
        return parse(mountInfo: mountInfo, cgroups: cgroups)
    }

    /// From the text of `/proc/self/mountinfo` and `/proc/self/cgroup`.
    public static func parse(mountInfo: String, cgroups: String) -> CgroupPlaces {
        // `hierarchy-id:controllers:path`; the unified hierarchy's line is `0::path`.
        var unifiedPath: String?
        var v1Paths: [String: String] = [:]
        for line in cgroups.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            if fields[0] == "0" && fields[1].isEmpty {
                unifiedPath = String(fields[2])
            } else {
                for controller in fields[1].split(separator: ",") { v1Paths[String(controller)] = String(fields[2]) }
            }
        }
        var places = CgroupPlaces()
        for mount in mountInfo.split(separator: "\n").compactMap(Mount.init) {
            if mount.type == "cgroup2", places.unified == nil, let path = unifiedPath {
                places.unified = mount.folder(for: path)
            } else if mount.type == "cgroup" {
                let controllers = mount.superOptions.split(separator: ",")
                if controllers.contains("memory"), places.memoryV1 == nil, let path = v1Paths["memory"] {
                    places.memoryV1 = mount.folder(for: path)
                }
                if controllers.contains("pids"), places.pidsV1 == nil, let path = v1Paths["pids"] {
                    places.pidsV1 = mount.folder(for: path)
                }
            }
        }
        return places
    }

    /// One line of mountinfo: `id parent major:minor root mount-point options [tags] - type source super-options`.
    private struct Mount {
        var root: String
        var point: String
        var type: String
        var superOptions: String

        init?(_ line: Substring) {
            let fields = line.split(separator: " ").map(String.init)
            guard let dash = fields.firstIndex(of: "-"), dash >= 5, fields.count >= dash + 4 else { return nil }
            root = Self.unescape(fields[3])
            point = Self.unescape(fields[4])
            type = fields[dash + 1]
            superOptions = fields[dash + 3]
        }

        /// The folder of the cgroup at `path` (relative to the hierarchy's root), when this mount shows it.
        func folder(for path: String) -> String? {
            let relative: Substring
            if root == "/" {
                relative = Substring(path)
            } else if path == root || path.hasPrefix(root + "/") {
                relative = path.dropFirst(root.count)
            } else {
                return nil
            }
            let trimmed = relative.drop { $0 == "/" }
            return trimmed.isEmpty ? point : point + "/" + trimmed
        }

        /// mountinfo writes space, tab, newline and backslash as octal escapes (`\040`).
        static func unescape(_ text: String) -> String {
            guard text.contains("\\") else { return text }
            var bytes: [UInt8] = []
            var utf8 = Array(text.utf8)[...]
            while let byte = utf8.first {
                if byte == UInt8(ascii: "\\"), utf8.count >= 4,
                    let value = UInt8(String(decoding: utf8.dropFirst().prefix(3), as: UTF8.self), radix: 8)
                {
                    bytes.append(value)
                    utf8 = utf8.dropFirst(4)
                } else {
                    bytes.append(byte)
                    utf8 = utf8.dropFirst()
                }
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}
