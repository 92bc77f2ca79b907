import CanopyAdminAPI
import CanopyBuild
import Foundation

/// How a Canopy server is set up: where the Sites files and the data live, where it listens.
public struct CanopyConfiguration: Sendable {
    /// Folder of `<site>.yml` domain mapping files, watched while running.
    public var sitesDirectory: String
    /// Data folder: state database, deployment store, build logs, caches, admin token.
    public var dataDirectory: String
    /// The public listener (the edge).
    public var listenHost: String
    public var listenPort: Int
    /// The TLS listener (`--listen-tls`); nil for none.
    public var tlsListenHost: String?
    public var tlsListenPort: Int?
    /// The admin listener (API, dashboard, hooks); never the public one.
    public var adminHost: String
    public var adminPort: Int
    /// Builds that may run at once (default: number of cores).
    public var buildConcurrency: Int
    /// Safety-net polling interval for repositories; the post-receive hook makes deploys immediate.
    public var pollInterval: Duration
    /// How often the Sites folder is checked for changed files.
    public var sitesPollInterval: Duration
    /// Event loops for the edge (default: number of cores).
    public var edgeThreads: Int
    /// Admin token; nil reads or creates `admin.token` in the data folder.
    public var adminToken: String?
    /// Access log file (`-` for standard output); nil for none.
    public var accessLog: String?
    /// A GeoIP database in the MaxMind DB format (`--geoip FILE`), for rules with a Country
    /// condition; nil for none (such rules are then refused at their line). Opened at start: a
    /// missing or unreadable file stops the server from starting.
    public var geoIPDatabase: String?
    /// Connections the edge holds at once (more are closed when accepted); nil for the edge's default.
    public var maxConnections: Int?
    /// Bytes of file bodies the edge keeps in memory, all deployments together; nil for the default.
    public var cacheSize: Int?
    /// Blob files the edge keeps open, all deployments together; nil for the default.
    public var maxOpenBlobs: Int?
    /// Proxy rules' connect and read timeouts and connections per upstream; nil for the edge's defaults.
    public var proxyConnectTimeout: Duration?
    public var proxyReadTimeout: Duration?
    public var proxyMaxConnections: Int?
    /// Account the builds run as when the server is root (`--build-user`); nil runs them as the server.
    public var buildUser: String?
    /// Where builds that run as `buildUser` get their checkouts: outside the data folder, which that
    /// user must not enter. Made (root's, mode 0711) when missing.
    public var buildWorkRoot: String = NSTemporaryDirectory() + "canopy-builds"
    /// The ACME account certificates are obtained with (`--acme-…`); nil: no ACME, and hostnames
    /// without `tls:` stay on certificates a user brings.
    public var acme: ACMEServerSettings?
    /// The uids (and gids, the same numbers) builds run as with `buildUser`, one per running build
    /// (`--build-uids`). No account or group of the system may have one.
    public var buildUIDs: ClosedRange<uid_t> = 1_500_000_000...1_500_065_535
    /// Limits of each build that runs as a uid of its own (`--build-max-processes`,
    /// `--build-max-file-size`, `--build-max-memory`, `--build-max-disk`).
    public var buildLimits = BuildLimits(
        processes: 2048, fileSizeBytes: 4 << 30, memoryBytes: CanopyConfiguration.defaultBuildMemory,
        diskBytes: 20 << 30)

    /// 8 GiB, the memory of Amplify's standard build instance
    /// (https://docs.aws.amazon.com/amplify/latest/userguide/custom-build-instance.html), or half
    /// the machine's memory when it has less than 16 GiB.
    public static let defaultBuildMemory = Int(min(8 << 30, ProcessInfo.processInfo.physicalMemory / 2))

    public init(
        sitesDirectory: String, dataDirectory: String, listenHost: String = "0.0.0.0", listenPort: Int = 8080,
        adminHost: String = "127.0.0.1", adminPort: Int = 8081,
        buildConcurrency: Int = ProcessInfo.processInfo.activeProcessorCount, pollInterval: Duration = .seconds(5),
        sitesPollInterval: Duration = .seconds(1), edgeThreads: Int = ProcessInfo.processInfo.activeProcessorCount,
        adminToken: String? = nil
    ) {
        self.sitesDirectory = sitesDirectory
        self.dataDirectory = dataDirectory
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.adminHost = adminHost
        self.adminPort = adminPort
        self.buildConcurrency = max(1, buildConcurrency)
        self.pollInterval = pollInterval
        self.sitesPollInterval = sitesPollInterval
        self.edgeThreads = max(1, edgeThreads)
        self.adminToken = adminToken
    }
}

/// The server's ACME account: `--acme-directory`, `--acme-email`, `--acme-trust`, `--acme-agree-tos`,
/// `--acme-challenges`.
public struct ACMEServerSettings: Sendable, Hashable {
    /// Let's Encrypt's production directory, the default.
    public static let letsEncrypt = "https://acme-v02.api.letsencrypt.org/directory"
    /// Let's Encrypt's staging directory (untrusted certificates, generous limits): try here first.
    public static let letsEncryptStaging = "https://acme-staging-v02.api.letsencrypt.org/directory"
    /// The challenge types Canopy answers, in the order it prefers them.
    public static let challengeTypes = ["http-01", "tls-alpn-01", "dns-01"]

    public var directoryURL: String
    /// The account's contact address (the CA writes about expiring certificates and problems).
    public var email: String?
    /// Extra CA roots (PEM files) for reaching the ACME server itself: private or test CAs.
    public var trustFiles: [String]
    /// Whether the operator accepts the CA's terms of service.
    public var agreeToTermsOfService: Bool
    /// Challenge types to use, preferred first (a failed type is tried last next time).
    public var challenges: [String]

    public init(
        directoryURL: String = ACMEServerSettings.letsEncrypt, email: String? = nil, trustFiles: [String] = [],
        agreeToTermsOfService: Bool = false, challenges: [String] = ACMEServerSettings.challengeTypes
    ) {
        self.directoryURL = directoryURL
        self.email = email
        self.trustFiles = trustFiles
        self.agreeToTermsOfService = agreeToTermsOfService
        self.challenges = challenges
    }
}

/// The layout of the data folder.
public struct DataFolder: Sendable {
    public let root: String

    public init(_ root: String) {
        self.root = (root as NSString).standardizingPath
    }

    public var stateDatabase: String { root + "/state.sqlite" }
    public var store: String { root + "/store" }
    public var builds: String { root + "/builds" }
    public var caches: String { root + "/cache" }
    public var mirrors: String { root + "/mirrors" }
    public var adminToken: String { root + "/" + AdminFiles.token }
    /// The post-receive hook's token: it may only tell the server about a push.
    public var hookToken: String { root + "/hook.token" }
    /// The admin listener's address, written at start so that the CLI and hooks find it.
    public var adminAddress: String { root + "/" + AdminFiles.address }
    /// The edge's bound address (`http://host:port`), written at start (useful with port 0).
    public var edgeAddress: String { root + "/edge.address" }
    /// The TLS listener's bound address (`https://host:port`), written at start when it runs.
    public var edgeTLSAddress: String { root + "/edge-tls.address" }
    /// The sites in force, one name per line, rewritten when they change (conflicts at start are
    /// decided as they were while running).
    public var sitesInForce: String { root + "/sites-in-force" }

    public func buildDirectory(_ buildID: String) -> String { builds + "/" + buildID }
    public func buildLog(_ buildID: String) -> String { buildDirectory(buildID) + "/build.log" }

    /// Creates the folders that must exist.
    public func create() throws {
        for dir in [root, store, builds, caches, mirrors] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
    }

    /// The admin token: the file's content, created (mode 0600) with 32 random bytes when missing.
    public func loadOrCreateAdminToken() throws -> String {
        try loadOrCreateToken(at: adminToken)
    }

    /// A token file's content, created (mode 0600) with 32 random bytes when missing.
    public func loadOrCreateToken(at path: String) throws -> String {
        if let existing = try? String(contentsOfFile: path, encoding: .utf8) {
            let token = existing.trimmingCharacters(in: .whitespacesAndNewlines)
            if !token.isEmpty { return token }
        }
        var generator = SystemRandomNumberGenerator()
        let token = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        let created = FileManager.default.createFile(
            atPath: path, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600])
        guard created else { throw CanopyError("cannot write a token to \(path)") }
        return token
    }
}

/// An error a person can act on.
public struct CanopyError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
