import CanopyEdge
import CanopyTLS
import Foundation
import Logging
import ServiceLifecycle

/// What the ACME manager is doing about one name, for `canopy certs`.
struct ACMEProgress: Sendable, Hashable {
    enum State: String, Sendable {
        /// An order runs and nothing serves yet.
        case ordering
        /// An order runs; the current certificate keeps serving until the new one is installed.
        case renewing
        /// The last attempt failed (`reason`); the next one is at `nextAttempt`.
        case failed
        /// Nothing to do before `nextAttempt` (the renewal date).
        case waiting
    }
    var state: State
    var reason: String?
    var nextAttempt: Date?
}

/// Obtains and renews certificates by ACME (RFC 8555) for the names the Sites files ask for
/// (``CertificateWants``), and hands each new one to the ``CertificateController``, which swaps it
/// into the edge's certificate set atomically: the old certificate serves until then.
///
/// One service in the server's group, one order at a time. Each pass asks ``RenewalPolicy`` what
/// every name needs (order, renew at two thirds of the lifetime, back off exponentially, honour the
/// CA's `Retry-After` and its limits on failed validations and new orders) and then sleeps until
/// the earliest date it named, or until the wanted names change. Failures and orders are kept in
/// the data folder (``ACMEFiles``), so limits hold across restarts; a restart with a valid stored
/// certificate orders nothing. Serving never waits for any of this.
actor CertificateManager: Service {
    let settings: ACMEServerSettings
    let controller: CertificateController
    let challenges: ACMEChallenges
    let store: CertificateStore
    let files: ACMEFiles
    let blocking: BlockingExecutor
    let logger: Logger
    /// Whether TLS-ALPN-01 can be answered (there is a TLS listener).
    let hasTLSListener: Bool
    let policy: RenewalPolicy

    private var wants: [CertificateWant] = []
    var history = ACMEHistory()
    private(set) var progress: [String: ACMEProgress] = [:]
    private var client: ACMEClient?
    /// The CA's renewal windows (ARI), per name, when it offers them.
    var renewalInfo: [String: ACMERenewalInfo] = [:]
    private var accountFailures = 0
    private var accountRetry: Date?
    private let events: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    /// The one pending wake-up; replaced (and the old one cancelled) at the end of every pass.
    private var timer: Task<Void, Never>?

    init(
        settings: ACMEServerSettings, controller: CertificateController, challenges: ACMEChallenges,
        dataDirectory: String, hasTLSListener: Bool, blocking: BlockingExecutor, logger: Logger,
        policy: RenewalPolicy = RenewalPolicy()
    ) {
        self.settings = settings
        self.controller = controller
        self.challenges = challenges
        self.store = CertificateStore(dataDirectory: dataDirectory)
        self.files = ACMEFiles(store: store, directoryURL: settings.directoryURL)
        self.hasTLSListener = hasTLSListener
        self.blocking = blocking
        self.logger = logger
        self.policy = policy
        (events, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func setProgress(_ name: String, _ value: ACMEProgress?) {
        progress[name] = value
    }

    /// The progress of the name that covers `hostname` (itself, or the `*.parent` wildcard).
    func progress(covering hostname: String) -> (name: String, progress: ACMEProgress)? {
        let host = hostname.lowercased()
        let wildcard = CertificateWants.coveringWildcard(of: host)
        for name in [host, wildcard] {
            if let found = progress[name] { return (name, found) }
        }
        return nil
    }

    /// Whether a name is one the Sites files want a certificate for (or one covering it).
    func wants(_ hostname: String) -> Bool {
        let host = hostname.lowercased()
        let wildcard = CertificateWants.coveringWildcard(of: host)
        return wants.contains { $0.name == host || $0.name == wildcard }
    }

    /// The names to keep certificates for; a change starts a pass at once.
    func update(wants: [CertificateWant]) {
        guard wants != self.wants else { return }
        self.wants = wants
        let names = Set(wants.map(\.name))
        progress = progress.filter { names.contains($0.key) }
        wake.yield()
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { await self.loop() }
    }

    private func loop() async {
        history = (try? await blocking.run { [files] in files.loadHistory() }) ?? ACMEHistory()
        logger.info(
            "ACME: certificates from \(settings.directoryURL), challenges \(settings.challenges.joined(separator: ", "))"
        )
        wake.yield()
        for await _ in events {
            if Task.isCancelled { break }
            schedule(await pass())
        }
        timer?.cancel()
    }

    private func schedule(_ date: Date?) {
        timer?.cancel()
        guard let date else { return }
        // At least hourly: a clock that jumps, or a certificate replaced by hand, is noticed.
        let seconds = min(max(date.timeIntervalSinceNow, 0.05), 3600)
        let wake = self.wake
        timer = Task {
            try? await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            if !Task.isCancelled { wake.yield() }
        }
    }

    /// Orders what is due, one name at a time; returns when the next name is due.
    private func pass() async -> Date? {
        guard !wants.isEmpty else { return nil }
        guard let client = await account() else { return accountRetry }
        var next: Date?
        for want in wants {
            guard wants.contains(want) else { continue }  // the Sites files changed meanwhile
            var stored = await storedCertificate(want.name)
            if let dates = stored, let info = await currentRenewalInfo(want.name, client: client) {
                stored = RenewalPolicy.Certificate(
                    notBefore: dates.notBefore, notAfter: dates.notAfter, suggestedWindow: info.suggestedWindow)
                next = min(next ?? info.nextCheck, info.nextCheck)
            }
            var decision = decide(want.name, stored)
            if case .orderNow(let reason) = decision {
                let serving = await storedCertificate(want.name, anyCA: true) != nil
                await order(want, reason: reason, client: client, renewing: serving)
                decision = decide(want.name, await storedCertificate(want.name))
            }
            switch decision {
            case .orderNow:
                next = Date()
            case .wait(let until, _):
                next = min(next ?? until, until)
                let failed = !(history.failures[want.name] ?? []).isEmpty
                progress[want.name] = ACMEProgress(
                    state: failed ? .failed : .waiting, reason: failed ? history.lastErrors[want.name] : nil,
                    nextAttempt: until)
            }
        }
        return next
    }

    private func decide(_ name: String, _ certificate: RenewalPolicy.Certificate?) -> RenewalPolicy.Decision {
        history.prune(now: Date(), policy: policy)
        return policy.decide(
            hostname: name, certificate: certificate, history: history.policyHistory(name), now: Date())
    }

    /// The CA's renewal window for a name's stored certificate (fetched again when the CA's
    /// `Retry-After` has passed); nil when the CA has no ARI or cannot say (2/3 of the lifetime then).
    private func currentRenewalInfo(_ name: String, client: ACMEClient) async -> ACMERenewalInfo? {
        if let cached = renewalInfo[name], cached.nextCheck > Date() { return cached }
        do {
            guard let bundle = try await blocking.run({ [store] in try store.load(name) }) else { return nil }
            guard let info = try await client.renewalInfo(for: bundle.leaf) else { return nil }
            if renewalInfo[name]?.suggestedWindow != info.suggestedWindow {
                logger.info(
                    "ACME: the CA suggests renewing \(name) between \(info.suggestedWindow.lowerBound) and \(info.suggestedWindow.upperBound)\(info.explanationURL.map { " (\($0))" } ?? "")"
                )
            }
            renewalInfo[name] = info
            return info
        } catch {
            logger.debug("ACME: no renewal information for \(name): \(error)")
            return renewalInfo[name]
        }
    }

    /// The stored certificate's dates; nil when none is stored, it no longer loads (expired,
    /// damaged) or (unless `anyCA`) this CA did not issue it.
    private func storedCertificate(_ name: String, anyCA: Bool = false) async -> RenewalPolicy.Certificate? {
        let bundle = try? await blocking.run { [store] in try store.load(name) }
        guard let bundle = bundle ?? nil else { return nil }
        guard anyCA || history.issued[name] == bundle.fingerprint else { return nil }
        return RenewalPolicy.Certificate(notBefore: bundle.notBefore, notAfter: bundle.notAfter)
    }

    /// The client with its account, registering (or finding) it on first use. Nil while the CA
    /// cannot be reached or refuses; `accountRetry` says when to try again.
    private func account() async -> ACMEClient? {
        if let client { return client }
        if let accountRetry, accountRetry > Date() { return nil }
        do {
            let key = try await blocking.run { [files] in try files.loadOrCreateAccountKey() }
            let http = try ACMEHTTPClient(additionalTrustRoots: settings.trustFiles)
            let client = ACMEClient(directoryURL: settings.directoryURL, accountKey: key, http: http, logger: logger)
            let directory = try await client.fetchDirectory()
            if let terms = directory.meta?.termsOfService, !settings.agreeToTermsOfService {
                throw CanopyError(
                    "the CA's terms of service (\(terms)) must be accepted before it issues: add --acme-agree-tos")
            }
            let account = try await client.register(
                contact: settings.email.map { [$0] } ?? [], agreeToTermsOfService: settings.agreeToTermsOfService)
            try await blocking.run { [files] in try files.saveAccount(url: account.url, contact: account.contact) }
            logger.info("ACME: account \(account.url) (\(account.status)) at \(settings.directoryURL)")
            self.client = client
            accountFailures = 0
            accountRetry = nil
            return client
        } catch {
            accountFailures += 1
            let retryAfter = (error as? ACMEError)?.retryAfter?.timeIntervalSinceNow
            let retry = Date() + policy.backoff.delay(afterFailures: accountFailures, retryAfter: retryAfter)
            accountRetry = retry
            let reason = "cannot set up the ACME account: \(error)"
            for want in wants { progress[want.name] = ACMEProgress(state: .failed, reason: reason, nextAttempt: retry) }
            logger.error("ACME: \(reason); next attempt at \(retry)")
            return nil
        }
    }
}
