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
actor CertificateController {
    let edge: any EdgeRouting
    let store: CertificateStore
    let blocking: BlockingExecutor
    let logger: Logger

    /// What each served hostname asks for (nil: the default, a stored ACME certificate if any).
    private var wanted: [String: TLSSource?] = [:]
    /// Each certificate file pair (or stored name) as last read.
    private var loaded: [CertificateFiles: Loaded] = [:]
    private var current: CertificateSet = .empty
    private(set) var statuses: [CertificateStatus] = []

    struct Loaded {
        var stamp: String
        /// The last bundle that loaded (kept serving when a newer file is refused).
        var bundle: CertificateBundle?
        var error: CertificateFileError?
    }

    init(edge: any EdgeRouting, data: DataFolder, blocking: BlockingExecutor, logger: Logger) {
        self.edge = edge
        self.store = CertificateStore(dataDirectory: data.root)
        self.blocking = blocking
        self.logger = logger
    }

    /// The hostnames served now, with their `tls:` source; reconciles at once.
    func update(hostnames: [(String, TLSSource?)]) async {
        wanted = Dictionary(hostnames, uniquingKeysWith: { a, _ in a })
        await reconcile()
    }

    /// Re-checks the certificate files (a changed file is read again).
    func refresh() async {
        guard !wanted.isEmpty else { return }
        await reconcile()
    }

    /// The files a hostname's certificate comes from, and its source's name.
    private func files(for hostname: String, _ source: TLSSource?) -> (CertificateFiles, String)? {
        switch source {
        case .off: return nil
        case .files(let certificate, let key): return (CertificateFiles(certificate: certificate, key: key), "file")
        case .acme, nil:
            for name in [hostname, hostname.split(separator: ".", maxSplits: 1).dropFirst().first.map { "*." + $0 }] {
                guard let name else { continue }
                let folder = store.folder(for: name)
                if FileManager.default.fileExists(atPath: folder + "/chain.pem") {
                    return (CertificateFiles(certificate: folder + "/chain.pem", key: folder + "/key.pem"), "acme")
                }
            }
            return nil
        }
    }

    private func reconcile() async {
        let plan = wanted.map { ($0.key, $0.value, files(for: $0.key, $0.value)) }
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
        self.statuses = statuses
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
