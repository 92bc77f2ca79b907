import CanopyEdge
import CanopyTLS
import Foundation
import Logging

extension CertificateManager {
    /// One order for one name: challenges answered by the edge (HTTP-01 on the cleartext listener,
    /// TLS-ALPN-01 on the TLS listener) or by the site's DNS server (DNS-01); the result written
    /// durably, then installed. A failure is recorded for the policy and shown per name.
    func order(_ want: CertificateWant, reason: RenewalPolicy.Reason, client: ACMEClient, renewing: Bool) async {
        let name = want.name
        let meta: Logger.Metadata = ["hostname": "\(name)"]
        setProgress(name, ACMEProgress(state: renewing ? .renewing : .ordering, reason: reason.rawValue))
        let attempt = Date()
        do {
            let solvers = try solvers(for: want)
            logger.info(
                "ACME: \(renewing ? "renewing" : "ordering") the certificate for \(name) (\(Self.describe(reason, renewing: renewing))), challenges \(solvers.map(\.challengeType).joined(separator: ", "))",
                metadata: meta)
            recordOrder(attempt)
            await persist()
            let issued = try await client.issueCertificate(for: [name], solvers: solvers)
            let bundle = try CertificateBundle(chainPEM: issued.chainPEM, keyPEM: issued.privateKeyPEM)
            try await blocking.run { [store] in try store.save(bundle, as: name) }
            recordSuccess(name, fingerprint: bundle.fingerprint)
            logger.info(
                "ACME: certificate for \(name) issued by \(bundle.issuer), valid until \(bundle.notAfter); installing",
                metadata: meta)
            await controller.refresh()
        } catch {
            recordFailure(name, error, at: attempt)
            logger.error("ACME: no certificate for \(name): \(error)", metadata: meta)
        }
        await persist()
    }

    static func describe(_ reason: RenewalPolicy.Reason, renewing: Bool) -> String {
        switch reason {
        case .noCertificate: renewing ? "the stored one is from another CA" : "none yet"
        case .expired: "the stored one expired"
        case .renewalDue: "two thirds of its lifetime have passed"
        default: reason.rawValue
        }
    }

    /// The solvers for a name, in the configured order, with types that failed validation for it
    /// moved last (each authorization allows one attempt: a new order tries another type first).
    func solvers(for want: CertificateWant) throws -> [any ACMEChallengeSolver] {
        var available: [String: any ACMEChallengeSolver] = [:]
        if !want.isWildcard {
            available["http-01"] = HTTP01Solver { [challenges] token, keyAuthorization in
                if let keyAuthorization {
                    challenges.setHTTP(token: token, keyAuthorization: keyAuthorization)
                } else {
                    challenges.removeHTTP(token: token)
                }
            }
            if hasTLSListener {
                available["tls-alpn-01"] = TLSALPN01Solver { [challenges] domain, certificate in
                    if let certificate {
                        let bundle = try CertificateBundle(
                            chainPEM: try certificate.certificatePEM, keyPEM: try certificate.privateKeyPEM)
                        try challenges.setTLSALPN(domain: domain, certificate: bundle)
                    } else {
                        challenges.removeTLSALPN(domain: domain)
                    }
                }
            }
        }
        if let dns = want.dns {
            do {
                let configuration = try RFC2136Configuration(
                    server: dns.server, keyName: dns.keyName, keyAlgorithm: dns.keyAlgorithm, keySecret: dns.keySecret)
                available["dns-01"] = DNS01Solver(client: DNSUpdateClient(configuration: configuration))
            } catch {
                guard !want.isWildcard else { throw CanopyError("\(dns.location): \(error)") }
                logger.warning("ACME: DNS-01 is not available for \(want.name): \(dns.location): \(error)")
            }
        }
        let failed = history.failedChallenges[want.name] ?? []
        let ordered = settings.challenges.filter { available[$0] != nil }
        let types = ordered.filter { !failed.contains($0) } + failed.filter { ordered.contains($0) }
        guard !types.isEmpty else {
            let needs =
                want.isWildcard
                ? "a wildcard needs dns-01 (acme.dns.rfc2136 in the Sites file)"
                : "none of --acme-challenges \(settings.challenges.joined(separator: ",")) can be answered"
                    + (hasTLSListener ? "" : " (tls-alpn-01 needs --listen-tls)")
            throw CanopyError("no challenge can be answered for \(want.name): \(needs)")
        }
        return types.compactMap { available[$0] }
    }
}

extension CertificateManager {
    // MARK: History

    func recordOrder(_ date: Date) {
        history.orders.append(date)
    }

    func recordSuccess(_ name: String, fingerprint: String) {
        history.issued[name] = fingerprint
        renewalInfo[name] = nil  // the CA's window was for the certificate just replaced
        history.failures[name] = nil
        history.lastErrors[name] = nil
        history.failedChallenges[name] = nil
        setProgress(name, nil)
    }

    func recordFailure(_ name: String, _ error: any Error, at date: Date) {
        var validation = false
        if let acme = error as? ACMEError {
            switch acme {
            case .challengeFailed(_, let type, _):
                validation = true
                var failed = (history.failedChallenges[name] ?? []).filter { $0 != type }
                failed.append(type)
                history.failedChallenges[name] = failed
            case .orderInvalid: validation = true
            default: break
            }
        }
        let retryAfter = (error as? ACMEError)?.retryAfter
        history.failures[name, default: []].append(
            RenewalPolicy.Failure(date: date, isValidationFailure: validation, retryAfter: retryAfter))
        history.lastErrors[name] = "\(error)"
    }

    func persist() async {
        let snapshot = history
        do {
            try await blocking.run { [files] in try files.save(snapshot) }
        } catch {
            logger.error("ACME: cannot record the order history in \(files.historyFile): \(error)")
        }
    }
}
