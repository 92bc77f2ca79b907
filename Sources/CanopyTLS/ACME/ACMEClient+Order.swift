import Crypto
import Foundation
import X509

extension ACMEClient {
    /// Orders, validates, finalizes and downloads one certificate for `names` (wildcards allowed),
    /// answering each authorization with the first solver in `solvers` that the server offers and
    /// that can solve it. The certificate key is a new ECDSA P-256 key unless one is given.
    public func issueCertificate(
        for names: [String], solvers: [any ACMEChallengeSolver],
        certificateKey: Certificate.PrivateKey? = nil
    ) async throws -> ACMEIssuedCertificate {
        let certificateKey = certificateKey ?? Certificate.PrivateKey(P256.Signing.PrivateKey())
        let (orderURL, order) = try await newOrder(names.map { ACMEIdentifier(dns: $0) })
        logger.info("ACME order created", metadata: ["names": "\(names)", "order": "\(orderURL)"])
        for url in order.authorizations {
            try await authorize(url, solvers: solvers)
        }
        let ready = try await pollOrder(orderURL, until: ["ready", "valid"])
        var finalOrder = ready
        if ready.status == "ready" {
            let csr = try ACMECertificateRequest.der(names: names, key: certificateKey)
            let payload = try JSONEncoder().encode(["csr": Base64URL.encode(csr)])
            _ = try await post(ready.finalize, payload: payload)
            finalOrder = try await pollOrder(orderURL, until: ["valid"])
        }
        guard let certificateURL = finalOrder.certificate else {
            throw ACMEError.unexpectedResponse(url: orderURL, status: 200, reason: "valid order without certificate")
        }
        let pem = try await downloadCertificate(certificateURL)
        let chain = try ACMEIssuedCertificate.parseChain(pem)
        guard !chain.isEmpty else {
            throw ACMEError.unexpectedResponse(url: certificateURL, status: 200, reason: "empty certificate chain")
        }
        logger.info("ACME certificate issued", metadata: ["names": "\(names)", "certificate": "\(certificateURL)"])
        return ACMEIssuedCertificate(
            names: names, chainPEM: pem, privateKeyPEM: try certificateKey.serializeAsPEM().pemString, chain: chain,
            orderURL: orderURL, certificateURL: certificateURL)
    }

    /// Creates an order; returns its URL and body.
    public func newOrder(_ identifiers: [ACMEIdentifier]) async throws -> (url: String, order: ACMEOrder) {
        let directory = try await fetchDirectory()
        let payload = try JSONEncoder().encode(["identifiers": identifiers])
        let response = try await post(directory.newOrder, payload: payload)
        guard let location = response.header("Location") else {
            throw ACMEError.unexpectedResponse(
                url: directory.newOrder, status: response.status, reason: "no Location header")
        }
        return (location, try Self.decode(response, url: directory.newOrder))
    }

    /// Reads an authorization (POST-as-GET).
    public func authorization(_ url: String) async throws -> ACMEAuthorization {
        try Self.decode(try await post(url, payload: nil), url: url)
    }

    /// Reads an order (POST-as-GET).
    public func order(_ url: String) async throws -> ACMEOrder {
        try Self.decode(try await post(url, payload: nil), url: url)
    }

    /// Downloads the certificate chain as PEM.
    public func downloadCertificate(_ url: String) async throws -> String {
        let response = try await post(url, payload: nil, accept: "application/pem-certificate-chain")
        return String(decoding: response.body, as: UTF8.self)
    }

    /// Answers one authorization: picks a challenge, presents it, tells the server, waits for the
    /// verdict and cleans up. Already-valid authorizations are left alone.
    public func authorize(_ url: String, solvers: [any ACMEChallengeSolver]) async throws {
        let authz = try await authorization(url)
        guard authz.status == "pending" else {
            if authz.status == "valid" { return }
            throw ACMEError.challengeFailed(
                identifier: authz.identifier.value, challengeType: "authorization \(authz.status)",
                problem: authz.challenges.compactMap(\.error).first)
        }
        let wildcard = authz.wildcard ?? false
        let domain = authz.identifier.value
        var chosen: (any ACMEChallengeSolver, ACMEChallenge)?
        for solver in solvers where solver.canSolve(domain: domain, wildcard: wildcard) {
            if let challenge = authz.challenges.first(where: { $0.type == solver.challengeType }) {
                chosen = (solver, challenge)
                break
            }
        }
        guard let (solver, challenge) = chosen, let token = challenge.token else {
            throw ACMEError.noSolver(
                identifier: (wildcard ? "*." : "") + domain, offered: authz.challenges.map(\.type))
        }
        let context = ACMEChallengeContext(
            domain: domain, wildcard: wildcard, type: challenge.type, token: token,
            keyAuthorization: accountKey.keyAuthorization(token: token))
        logger.info("ACME challenge", metadata: ["domain": "\(domain)", "type": "\(challenge.type)"])
        try await solver.present(context)
        do {
            _ = try await post(challenge.url, payload: Data("{}".utf8))
            let settled = try await pollAuthorization(url)
            try? await solver.cleanup(context)
            guard settled.status == "valid" else {
                let problem = settled.challenges.first { $0.type == challenge.type }?.error
                throw ACMEError.challengeFailed(identifier: domain, challengeType: challenge.type, problem: problem)
            }
        } catch {
            try? await solver.cleanup(context)
            throw error
        }
    }

    func pollAuthorization(_ url: String) async throws -> ACMEAuthorization {
        let start = ContinuousClock.now
        while true {
            let response = try await post(url, payload: nil)
            let authz: ACMEAuthorization = try Self.decode(response, url: url)
            if authz.status != "pending" { return authz }
            try await waitBeforePolling(response, since: start, what: "authorization \(url)")
        }
    }

    func pollOrder(_ url: String, until wanted: Set<String>) async throws -> ACMEOrder {
        let start = ContinuousClock.now
        while true {
            let response = try await post(url, payload: nil)
            let order: ACMEOrder = try Self.decode(response, url: url)
            if wanted.contains(order.status) { return order }
            if order.status == "invalid" { throw ACMEError.orderInvalid(url: url, problem: order.error) }
            try await waitBeforePolling(response, since: start, what: "order \(url) to become \(wanted.sorted())")
        }
    }

    /// Sleeps for the server's `Retry-After` (bounded by the poll timeout) or the poll interval.
    func waitBeforePolling(
        _ response: ACMEHTTPResponse, since start: ContinuousClock.Instant, what: String
    )
        async throws
    {
        let elapsed = ContinuousClock.now - start
        guard elapsed < pollTimeout else {
            throw ACMEError.timedOut(what: what, seconds: Double(pollTimeout.components.seconds))
        }
        var delay = pollInterval
        if let date = response.header("Retry-After").flatMap({ ACMEBackoff.parseRetryAfter($0, now: Date()) }) {
            delay = max(.milliseconds(Int64(date.timeIntervalSinceNow * 1000)), .zero)
        }
        try await Task.sleep(for: min(delay, pollTimeout - elapsed))
    }
}
