import CanopyAdminAPI
import CanopyEdge
import CanopySpec
import CanopyTLS
import Foundation
import Logging

/// Keeps the edge's CertificateSet in agreement with the Sites files. Each served hostname gets
/// the certificate its `tls:` names: the user's files (re-read when their size or modification
/// time changes; a refused file keeps the previous certificate serving), or the one stored for it
/// (or its `*.parent` wildcard) in the data folder's certificate store, which the ACME client fills.
/// Files are read on the blocking executor; the edge gets a new set only when a certificate changed.
/// With an ACME account configured, the ``CertificateManager`` is told which names to keep, and
/// each status shows what it is doing.
actor CertificateController {
    let edge: any EdgeRouting
    let store: CertificateStore
    let blocking: BlockingExecutor
    let logger: Logger

    /// Whether a hostname without `tls:` gets an ACME certificate (the server has an account).
    let acmeByDefault: Bool
    /// The ACME manager, when there is one (it holds this controller; this reference is weak).
    private weak var acme: CertificateManager?
    /// What each served hostname asks for (nil: the default, a stored ACME certificate if any).
    private var wanted: [String: TLSSource?] = [:]
    /// What the last update was given.
    private var lastUpdate: (sources: [CertificateSource], sites: [String: SiteConfig], manager: ObjectIdentifier?)?
    /// Each certificate file pair (or stored name) as last read.
    private var loaded: [CertificateFiles: Loaded] = [:]
    private var current: CertificateSet = .empty
    /// The statuses as of the last reconcile, before the ACME manager's progress is added.
    private var fileStatuses: [CertificateStatus] = []

    struct Loaded {
        var stamp: String
        /// The last bundle that loaded (kept serving when a newer file is refused).
        var bundle: CertificateBundle?
        var error: CertificateFileError?
    }

    init(
        edge: any EdgeRouting, data: DataFolder, blocking: BlockingExecutor, logger: Logger, acmeByDefault: Bool = false
    ) {
        self.edge = edge
        self.acmeByDefault = acmeByDefault
        self.store = CertificateStore(dataDirectory: data.root)
        self.blocking = blocking
        self.logger = logger
    }

    /// Connects the ACME manager; it gets the wanted names at every update from now on.
    func attach(_ manager: CertificateManager) {
        acme = manager
    }

    /// The hostnames served now, with their `tls:` source; reconciles at once, and tells the ACME
    /// manager which certificates the Sites files ask for.
    func update(sources: [CertificateSource], sites: [String: SiteConfig]) async {
        // Most publishes (a push, a swap, a weight change) leave every hostname's `tls:` as it
        // was: nothing to reconcile then (changed files are `refresh()`'s, on the Sites poll).
        let manager = acme.map(ObjectIdentifier.init)
        if let last = lastUpdate, last.manager == manager, last.sources == sources, last.sites == sites { return }
        lastUpdate = (sources, sites, manager)
        wanted = Dictionary(sources.map { ($0.hostname, $0.tls) }, uniquingKeysWith: { a, _ in a })
        await reconcile()
        if let acme {
            let wants = CertificateWants.compute(sources: sources, sites: sites, acmeByDefault: acmeByDefault)
            await acme.update(wants: wants)
        }
    }

    /// Each served hostname's certificate, with what the ACME manager is doing about it.
    func statuses() async -> [CertificateStatus] {
        var result = fileStatuses
        for index in result.indices where result[index].source == "acme" || result[index].source == "none" {
            let hostname = result[index].hostname
            guard wanted[hostname].map({ CertificateWants.wantsACME($0, acmeByDefault) }) == true else { continue }
            guard let acme else {
                if result[index].source == "none" {
                    result[index].reason =
                        "tls: acme, but the server has no ACME account (canopy serve --acme-email ADDRESS --acme-agree-tos)"
                }
                continue
            }
            guard await acme.wants(hostname) else {
                if result[index].source == "none" {
                    result[index].reason = "a CA issues no certificate for this name (an IP address or a local name)"
                }
                continue
            }
            guard let (name, progress) = await acme.progress(covering: hostname) else { continue }
            result[index].source = "acme"
            if name != hostname.lowercased() {
                result[index].names = result[index].names.isEmpty ? [name] : result[index].names
            }
            result[index].nextAttempt = progress.nextAttempt
            switch progress.state {
            case .ordering:
                result[index].state = "ordering"
                result[index].reason = "an order for \(name) is in progress"
            case .renewing:
                result[index].state = "renewing"
                result[index].reason = "renewing \(name); the current certificate serves until the new one is installed"
            case .failed:
                result[index].state = "failed"
                result[index].reason =
                    (progress.reason ?? "the last order failed")
                    + (result[index].serving ? "; the current certificate keeps serving" : "")
            case .waiting:
                break
            }
        }
        return result
    }

    /// Re-checks the certificate files (a changed file is read again).
    func refresh() async {
        guard !wanted.isEmpty else { return }
        await reconcile()
    }

    /// The files a hostname's certificate comes from, and its source's name.
    private nonisolated func files(for hostname: String, _ source: TLSSource?) -> (CertificateFiles, String)? {
        switch source {
        case .off: return nil
        case .files(let certificate, let key): return (CertificateFiles(certificate: certificate, key: key), "file")
        case .acme, nil:
            for name in [hostname, CertificateWants.coveringWildcard(of: hostname)] {
                guard let files = store.currentFiles(for: name) else { continue }
                return (files, "acme")
            }
            return nil
        }
    }

    private func reconcile() async {
        let wanted = self.wanted
        // The executor fails only while the server stops: then nothing changes.
        guard
            let plan = try? await blocking.run({ [self] in
                wanted.map { ($0.key, $0.value, files(for: $0.key, $0.value)) }
            })
        else { return }
        await reload(Set(plan.compactMap { $0.2?.0 }))
        let now = Date()
        var assignments: [String: CertificateBundle] = [:]
        var statuses: [CertificateStatus] = []
        for (hostname, source, found) in plan.sorted(by: { $0.0 < $1.0 }) {
            guard let (files, kind) = found, let entry = loaded[files] else {
                let reason = source == .off ? "tls: off" : "no certificate yet"
                statuses.append(CertificateStatus(hostname: hostname, source: "none", state: "none", reason: reason))
                continue
            }
            var status = CertificateStatus(hostname: hostname, source: kind, file: files.certificate, state: "failed")
            if let error = entry.error {
                status.reason = error.description
                if entry.bundle != nil { status.reason! += "; the previous certificate keeps serving" }
            }
            if let bundle = entry.bundle {
                if bundle.notAfter < now {
                    status.reason = "the certificate expired on \(bundle.notAfter)"  // and is not served
                } else if !bundle.covers(hostname) {
                    status.reason =
                        "the certificate does not name \(hostname) (it names \(bundle.names.joined(separator: ", ")))"
                } else {
                    assignments[hostname] = bundle
                    status.serving = true
                    let lifetime = bundle.notAfter.timeIntervalSince(bundle.notBefore)
                    let left = bundle.notAfter.timeIntervalSince(now)
                    if entry.error == nil { status.state = left < min(lifetime / 3, 30 * 86400) ? "expiring" : "valid" }
                }
                status.issuer = bundle.issuer
                status.names = bundle.names
                status.notAfter = bundle.notAfter
            }
            statuses.append(status)
        }
        self.fileStatuses = statuses
        let unchanged =
            assignments.count == current.names.count
            && assignments.allSatisfy {
                current.entry(forServerName: $0.key)?.bundle.fingerprint == $0.value.fingerprint
            }
        if unchanged { return }
        let (set, failures) = TLSContexts.makeSet(assignments, reusing: current)
        for (hostname, reason) in failures { logger.error("certificate for \(hostname) not served: \(reason)") }
        current = set
        edge.update(certificates: set)
        logger.info("certificates in force for \(set.names.count) hostname(s): \(set.names.joined(separator: ", "))")
    }

    /// Reads the file pairs whose stamp changed since they were last read.
    private func reload(_ pairs: Set<CertificateFiles>) async {
        for files in pairs {
            let previous = loaded[files]
            let stamp = (try? await blocking.run { files.stamp() }) ?? "unknown"
            if let previous, previous.stamp == stamp { continue }
            let result: Result<CertificateBundle, CertificateFileError>
            do {
                result = .success(try await blocking.run { try files.load() })
            } catch let error as CertificateFileError {
                result = .failure(error)
            } catch {
                result = .failure(CertificateFileError(file: files.certificate, reason: "\(error)"))
            }
            switch result {
            case .success(let bundle):
                loaded[files] = Loaded(stamp: stamp, bundle: bundle, error: nil)
                logger.info(
                    "certificate \(files.certificate) loaded: \(bundle.names.joined(separator: ", ")), valid until \(bundle.notAfter)"
                )
            case .failure(let error):
                loaded[files] = Loaded(stamp: stamp, bundle: previous?.bundle, error: error)
                logger.error(
                    "certificate refused: \(error)\(previous?.bundle != nil ? "; the previous certificate keeps serving" : "")"
                )
            }
        }
        loaded = loaded.filter { pairs.contains($0.key) }
    }
}
