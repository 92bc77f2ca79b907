import CanopySpec
import Foundation
import Logging

/// The Sites folder, read into `SiteConfig`s. A file that fails to parse (or that claims a hostname
/// another site holds) is refused with its message, and the configuration in force for that site stays.
///
/// Conflicts are decided the same way every time: the site that was in force keeps its hostnames.
/// While running that is the site already loaded; at start it is the one recorded as in force when
/// the server last ran (`incumbents`, kept in the data folder), so a file refused while running is
/// still refused after a restart, whatever its name sorts as.
public struct SiteCatalog: Sendable {
    /// The configurations in force, by site name.
    public private(set) var sites: [String: SiteConfig] = [:]
    /// Refused files and why, by file path: shown by `canopy status` and the admin API.
    public private(set) var problems: [String: String] = [:]
    /// What the folder held when last read (path → contents).
    private var fingerprint: [String: String] = [:]
    /// The last listing of the folder failed (logged once, until it succeeds again).
    private var listingFailed = false

    /// Sites in force when the server last ran: read first at the first reload.
    private var incumbents: Set<String>
    /// What the edge evaluates of rules: a Sites file's redirect with a `condition` is refused (at
    /// its line) by a server without a GeoIP database.
    public let capabilities: RuleCapabilities

    public init(incumbents: Set<String> = [], capabilities: RuleCapabilities = .basic) {
        self.incumbents = incumbents
        self.capabilities = capabilities
    }

    /// Sites files in `directory`: `*.yml` and `*.yaml`, sorted. Throws when the folder cannot be
    /// read (out of descriptors, no permission, an I/O error): that is never "no files".
    static func files(in directory: String) throws -> [String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        return names.filter { $0.hasSuffix(".yml") || $0.hasSuffix(".yaml") }.sorted().map { directory + "/" + $0 }
    }

    static func siteName(ofFile path: String) -> String {
        let base = (path as NSString).lastPathComponent
        return (base as NSString).deletingPathExtension
    }

    /// Parses one Sites file, as a server with `capabilities` reads it.
    public static func parse(file path: String, capabilities: RuleCapabilities = .basic) throws -> SiteConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw CanopyError("\(path): cannot read the file: \(error.localizedDescription)")
        }
        return try SitesSpec.parse(
            text, file: path, siteName: siteName(ofFile: path),
            baseDirectory: (path as NSString).deletingLastPathComponent, capabilities: capabilities)
    }

    /// Re-reads the folder when anything in it changed. Returns true when the configuration in force changed.
    public mutating func reload(directory: String, logger: Logger) -> Bool {
        let files: [String]
        do {
            files = try Self.files(in: directory)
        } catch {
            // Removing every site because the folder could not be listed would unpublish them all.
            if !listingFailed {
                logger.error(
                    "cannot read the Sites folder \(directory): \(error.localizedDescription); the configuration in force stays, and the folder is read again at each check"
                )
            }
            listingFailed = true
            return false
        }
        if listingFailed {
            logger.notice("the Sites folder \(directory) can be read again")
            listingFailed = false
        }
        var newFingerprint: [String: String] = [:]
        for file in files {
            // Sites files are small: comparing their contents catches every edit, whatever the clock.
            newFingerprint[file] = (try? String(contentsOfFile: file, encoding: .utf8)) ?? "unreadable"
        }
        guard newFingerprint != fingerprint else { return false }
        fingerprint = newFingerprint

        var next = sites
        var nextProblems: [String: String] = [:]
        let present = Set(files.map(Self.siteName(ofFile:)))
        for name in next.keys where !present.contains(name) {
            logger.info("site removed: its Sites file is gone", metadata: ["site": "\(name)"])
            next[name] = nil
        }
        // Sites in force first (already loaded, or in force before the restart), then new ones.
        let inForce = Set(next.keys).union(incumbents)
        incumbents = []
        let ordered =
            files.filter { inForce.contains(Self.siteName(ofFile: $0)) }
            + files.filter { !inForce.contains(Self.siteName(ofFile: $0)) }
        for file in ordered {
            let name = Self.siteName(ofFile: file)
            do {
                let config = try Self.parse(file: file, capabilities: capabilities)
                for warning in config.warnings {
                    logger.warning("\(warning)", metadata: ["site": "\(name)"])
                }
                // The sites already accepted own their hostnames; this one is checked against them.
                let others = next.values.filter { $0.name != name }.sorted { $0.name < $1.name }
                try SitesSpec.checkConflicts(others + [config])
                next[name] = config
            } catch {
                nextProblems[file] = "\(error)"
                let kept = next[name] != nil ? "the configuration in force stays" : "the site is not loaded"
                logger.error("refused Sites file (\(kept)):\n\(error)", metadata: ["site": "\(name)"])
            }
        }
        problems = nextProblems
        guard next != sites else { return false }
        sites = next
        return true
    }
}

extension SiteCatalog {
    /// The names in a sites-in-force file; empty when there is none.
    static func readInForce(_ path: String) -> Set<String> {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return Set(text.split(separator: "\n").map(String.init).filter { !$0.isEmpty })
    }

    /// Writes the names, one per line, atomically.
    static func writeInForce(_ names: Set<String>, to path: String) throws {
        try (names.sorted().joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }
}
