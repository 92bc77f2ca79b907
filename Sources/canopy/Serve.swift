import ArgumentParser
import CanopyControl
import Foundation
import Logging

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server: watch the sites' repositories, build on push, serve every branch.")

    @Option(help: "Folder of Sites files (<site>.yml).")
    var sites = "Sites"

    @Option(help: "Data folder (state database, deployment store, logs, caches, admin token).")
    var data = ".canopy/data"

    @Option(help: "Public listener, HOST:PORT.")
    var listen = "0.0.0.0:8080"

    @Option(help: "TLS listener (HTTPS, HTTP/2 by ALPN), HOST:PORT, besides --listen; e.g. 0.0.0.0:443.")
    var listenTls: String?

    @Option(
        help: ArgumentHelp(
            "ACME directory to obtain certificates from (default: Let's Encrypt's production directory).",
            discussion:
                "Giving any --acme-* option turns ACME on: every hostname without tls: gets a certificate. Try \(ACMEServerSettings.letsEncryptStaging) first."
        ))
    var acmeDirectory: String?

    @Option(help: "Contact address for the ACME account (the CA writes about expiring certificates).")
    var acmeEmail: String?

    @Option(help: "Extra CA roots (PEM file) for reaching the ACME server: private or test CAs. Repeatable.")
    var acmeTrust: [String] = []

    @Flag(help: "Accept the ACME CA's terms of service (Let's Encrypt requires it).")
    var acmeAgreeTos = false

    @Option(help: "ACME challenge types to use, preferred first: http-01, tls-alpn-01, dns-01 (default: all three).")
    var acmeChallenges: String?

    @Option(help: "Admin listener (API, dashboard, hooks), HOST:PORT. Keep it on loopback.")
    var admin = "127.0.0.1:8081"

    @Option(help: "Builds that may run at once (default: number of cores).")
    var builds: Int?

    @Option(help: "Seconds between repository polls (the post-receive hook makes deploys immediate).")
    var poll: Double = 5

    @Option(help: "Write an access log (combined format with the host first) to this file, or - for standard output.")
    var accessLog: String?

    @Option(
        help: ArgumentHelp(
            "Run builds as this unprivileged user (the server must be root).",
            discussion:
                "Each build's checkout and HOME belong to the user, in --build-folder; it cannot enter the data folder."
        ))
    var buildUser: String?

    @Option(help: "Where builds run as --build-user get their checkouts (made root's, mode 0711).")
    var buildFolder: String?

    @Option(
        help: ArgumentHelp(
            "With --build-user: the uids (and gids) builds run as, one per running build, as FIRST-LAST.",
            discussion:
                "No account or group may have one. Default: 1500000000-1500065535. A build cannot read another's "
                + "environment or files, and all processes of its uid end with it."
        ))
    var buildUids: String?

    @Option(help: "With --build-user: processes and threads one build may have at once (default 2048).")
    var buildMaxProcesses: Int?

    @Option(help: "With --build-user: the largest file a build may write, as 512MiB, 4GiB, or MiB (default 4GiB).")
    var buildMaxFileSize: String?

    @Option(
        help: ArgumentHelp(
            "With --build-user: the memory one build may use, as 2GiB, 512MiB, or MiB (default 8GiB, or half the machine's).",
            discussion:
                "For all the build's processes together, in a cgroup of its own, when the server can make one (root with "
                + "a writable cgroup v2 or v1 memory hierarchy); else for each process (RLIMIT_DATA). A build that goes "
                + "over fails with a message; the previous deployment keeps serving."
        ))
    var buildMaxMemory: String?

    @Option(
        help: ArgumentHelp(
            "With --build-user: the disk one build may fill, as 10GiB, or MiB (default 20GiB).",
            discussion:
                "Its checkout, HOME and temporary files, measured while it runs; a build that goes over is stopped "
                + "with a message."
        ))
    var buildMaxDisk: String?

    @Option(
        help: ArgumentHelp(
            "Connections the public listener holds at once; more are closed at once.",
            discussion:
                "Default: 10,000, or fewer when the descriptor limit (raised to its hard limit at start) is low."
        ))
    var maxConnections: Int?

    @Option(
        help: ArgumentHelp(
            "Memory for file bodies, shared by every deployment of every site: 256MiB, 1GiB, or bytes.",
            discussion:
                "Default: an eighth of the machine's memory, at most 1GiB. Files up to 128 KiB are kept by recent use; what is not in memory is sent from the store's file."
        ))
    var cacheSize: String?

    @Option(
        help: ArgumentHelp(
            "Blob files the edge keeps open for sending, all deployments together.",
            discussion: "Default: 1,024, or an eighth of the descriptor limit when that is lower."))
    var maxOpenBlobs: Int?

    @Option(help: "Seconds a connection to a proxy rule's upstream may take (default 5).")
    var proxyConnectTimeout: Double?

    @Option(help: "Seconds a proxy rule's upstream may stay silent while it owes an answer (default 30).")
    var proxyReadTimeout: Double?

    @Option(help: "Connections the edge opens to one proxy upstream at most (default 64).")
    var proxyMaxConnections: Int?

    @Option(
        help: ArgumentHelp(
            "A GeoIP database (MaxMind DB format, .mmdb) for rules with a Country condition.",
            discussion:
                "Netlify's Country= and Amplify's condition (<US>) match the visitor's address against it: DB-IP's free "
                + "dbip-country-lite.mmdb or MaxMind's GeoLite2-Country.mmdb. Without it such a rule fails the build at "
                + "its line. Opened once at start (memory-mapped); restart to load a newer file."
        ))
    var geoip: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        let (host, port) = try parseAddress(listen, option: "--listen")
        let (adminHost, adminPort) = try parseAddress(admin, option: "--admin")
        var config = CanopyConfiguration(
            sitesDirectory: sites, dataDirectory: data, listenHost: host, listenPort: port, adminHost: adminHost,
            adminPort: adminPort, pollInterval: .milliseconds(Int(poll * 1000)))
        if let builds { config.buildConcurrency = max(1, builds) }
        if let listenTls {
            (config.tlsListenHost, config.tlsListenPort) = try parseAddress(listenTls, option: "--listen-tls")
        }
        config.accessLog = accessLog
        config.geoIPDatabase = geoip
        config.acme = try acmeSettings()
        config.buildUser = buildUser
        if let buildFolder { config.buildWorkRoot = buildFolder }
        if let buildUids {
            guard let range = BuildIdentities.parseRange(buildUids) else {
                throw ValidationError("--build-uids takes FIRST-LAST, two uids above 0 (got `\(buildUids)`)")
            }
            config.buildUIDs = range
        }
        if let buildMaxProcesses {
            guard buildMaxProcesses > 0 else { throw ValidationError("--build-max-processes takes a positive number") }
            config.buildLimits.processes = buildMaxProcesses
        }
        if let buildMaxFileSize {
            config.buildLimits.fileSizeBytes = try size(buildMaxFileSize, "--build-max-file-size")
        }
        if let buildMaxMemory { config.buildLimits.memoryBytes = try size(buildMaxMemory, "--build-max-memory") }
        if let buildMaxDisk { config.buildLimits.diskBytes = try size(buildMaxDisk, "--build-max-disk") }
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "canopy")
        let descriptors = DescriptorLimit.raiseSoftToHard()
        if descriptors.after != descriptors.before {
            logger.info("descriptor limit (RLIMIT_NOFILE) raised from \(descriptors.before) to \(descriptors.after)")
        }
        if let maxConnections, maxConnections < 1 { throw ValidationError("--max-connections takes a positive number") }
        config.maxConnections = maxConnections ?? DescriptorLimit.defaultMaxConnections(descriptors: descriptors.after)
        if let cacheSize {
            guard let bytes = ByteCount.parse(cacheSize, bareShift: 0) else {
                throw ValidationError(
                    "--cache-size takes a size like 256MiB, 1GiB or a number of bytes, not '\(cacheSize)'")
            }
            config.cacheSize = bytes
        }
        if let maxOpenBlobs, maxOpenBlobs < 1 { throw ValidationError("--max-open-blobs takes a positive number") }
        config.maxOpenBlobs = maxOpenBlobs ?? BodyCache.defaultMaxOpenBlobs(descriptors: descriptors.after)
        for (flag, value) in [
            ("--proxy-connect-timeout", proxyConnectTimeout), ("--proxy-read-timeout", proxyReadTimeout),
        ]
        where value.map({ !($0 > 0) }) == true {
            throw ValidationError("\(flag) takes a positive number of seconds")
        }
        if let proxyMaxConnections, proxyMaxConnections < 1 {
            throw ValidationError("--proxy-max-connections takes a positive number")
        }
        config.proxyConnectTimeout = proxyConnectTimeout.map { .milliseconds(Int64($0 * 1000)) }
        config.proxyReadTimeout = proxyReadTimeout.map { .milliseconds(Int64($0 * 1000)) }
        config.proxyMaxConnections = proxyMaxConnections
        try await CanopyServer.run(config, logger: logger)
    }
}

extension Serve {
    /// The ACME account from the `--acme-*` options; nil when none is given.
    func acmeSettings() throws -> ACMEServerSettings? {
        guard acmeDirectory != nil || acmeEmail != nil || !acmeTrust.isEmpty || acmeAgreeTos || acmeChallenges != nil
        else { return nil }
        var settings = ACMEServerSettings(
            directoryURL: acmeDirectory ?? ACMEServerSettings.letsEncrypt, email: acmeEmail, trustFiles: acmeTrust,
            agreeToTermsOfService: acmeAgreeTos)
        if let url = URL(string: settings.directoryURL), url.scheme == "https" || url.scheme == "http", url.host != nil
        {
        } else {
            throw ValidationError("--acme-directory takes the directory's https:// URL, not '\(settings.directoryURL)'")
        }
        for file in acmeTrust where !FileManager.default.isReadableFile(atPath: file) {
            throw ValidationError("--acme-trust \(file): no such readable file")
        }
        if let email = acmeEmail, !email.contains("@") || email.hasPrefix("mailto:") {
            throw ValidationError("--acme-email takes an address like ops@example.com, not '\(email)'")
        }
        if let acmeChallenges {
            let types = acmeChallenges.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let unknown = types.filter { !ACMEServerSettings.challengeTypes.contains($0) }
            guard unknown.isEmpty, !types.isEmpty else {
                throw ValidationError(
                    "--acme-challenges takes a list of \(ACMEServerSettings.challengeTypes.joined(separator: ", ")), not '\(acmeChallenges)'"
                )
            }
            settings.challenges = types
        }
        return settings
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// A size option's bytes: `2GiB`, `512MiB`, `10G`, or a number of MiB.
func size(_ text: String, _ option: String) throws -> Int {
    guard let bytes = ByteCount.parse(text) else {
        throw ValidationError("\(option) takes a size such as 512MiB, 2GiB or 2048 (MiB), not '\(text)'")
    }
    return bytes
}

/// `HOST:PORT` (or `:PORT`, or `PORT`) → host and port.
func parseAddress(_ text: String, option: String) throws -> (String, Int) {
    guard let colon = text.lastIndex(of: ":") else {
        guard let port = Int(text) else { throw ValidationError("\(option) takes HOST:PORT, not '\(text)'") }
        return ("0.0.0.0", port)
    }
    var host = String(text[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
        throw ValidationError("\(option) takes HOST:PORT with a port from 0 to 65535, not '\(text)'")
    }
    return (host.isEmpty ? "0.0.0.0" : host, port)
}
