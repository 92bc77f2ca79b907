import Foundation
import Logging

/// A client for one ACME server and one account (RFC 8555).
///
/// It reads the directory, keeps a pool of nonces (retrying once per `badNonce`), signs every
/// request with the account key (`jwk` until the account exists, `kid` after), and turns problem
/// documents into ``ACMEError/problem(_:url:retryAfter:)`` with the server's `Retry-After`.
public actor ACMEClient {
    /// The directory URL.
    public let directoryURL: String
    /// The account key.
    public let accountKey: ACMEAccountKey
    let http: ACMEHTTPClient
    let logger: Logger
    /// How often to poll an authorization or order when the server sends no `Retry-After`.
    public var pollInterval: Duration = .seconds(2)
    /// How long to wait for an authorization or order to settle.
    public var pollTimeout: Duration = .seconds(120)
    var directory: ACMEDirectory?
    var nonces: [String] = []
    /// The account URL (`kid`), once registered or found.
    public private(set) var accountURL: String?

    /// Creates a client. Nothing is sent until the first call.
    public init(directoryURL: String, accountKey: ACMEAccountKey, http: ACMEHTTPClient, logger: Logger) {
        self.directoryURL = directoryURL
        self.accountKey = accountKey
        self.http = http
        self.logger = logger
    }

    /// Changes the polling cadence (tests use a short one).
    public func setPolling(interval: Duration, timeout: Duration) {
        pollInterval = interval
        pollTimeout = timeout
    }

    /// The directory, fetched once.
    public func fetchDirectory() async throws -> ACMEDirectory {
        if let directory { return directory }
        let response = try await http.send("GET", directoryURL)
        try Self.check(response, url: directoryURL)
        let decoded: ACMEDirectory = try Self.decode(response, url: directoryURL)
        directory = decoded
        return decoded
    }

    // MARK: Accounts

    /// Creates the account, or finds the one this key already has (the server answers 200 then).
    /// `agreeToTermsOfService` must be true where the CA has terms (`--acme-agree-tos`).
    @discardableResult
    public func register(contact emails: [String], agreeToTermsOfService: Bool) async throws -> ACMEAccount {
        let directory = try await fetchDirectory()
        let payload = NewAccountPayload(
            termsOfServiceAgreed: agreeToTermsOfService, contact: emails.map { "mailto:" + $0 },
            onlyReturnExisting: nil)
        return try await accountRequest(directory.newAccount, payload)
    }

    /// Finds the account this key already has, without creating one; throws the server's
    /// `accountDoesNotExist` problem when there is none.
    @discardableResult
    public func findExistingAccount() async throws -> ACMEAccount {
        let directory = try await fetchDirectory()
        let payload = NewAccountPayload(termsOfServiceAgreed: nil, contact: nil, onlyReturnExisting: true)
        return try await accountRequest(directory.newAccount, payload)
    }

    func accountRequest(_ url: String, _ payload: NewAccountPayload) async throws -> ACMEAccount {
        let response = try await post(url, payload: try JSONEncoder().encode(payload), useKeyID: false)
        guard let location = response.header("Location") else {
            throw ACMEError.unexpectedResponse(url: url, status: response.status, reason: "no Location header")
        }
        let body: AccountBody = try Self.decode(response, url: url)
        accountURL = location
        logger.info("ACME account ready", metadata: ["account": "\(location)", "status": "\(body.status)"])
        return ACMEAccount(url: location, status: body.status, contact: body.contact ?? [])
    }

    // MARK: Signed requests

    /// POSTs a JWS to `url`; `payload` nil is POST-as-GET. Retries `badNonce` a few times with the
    /// nonce the error carried, as RFC 8555 §6.5 asks. Throws problems as ``ACMEError``.
    public func post(
        _ url: String, payload: Data?, accept: String? = nil, useKeyID: Bool = true
    )
        async throws -> ACMEHTTPResponse
    {
        var attempt = 0
        while true {
            attempt += 1
            let nonce = try await nextNonce()
            let keyID: String?
            if useKeyID {
                guard let accountURL else {
                    throw ACMEError.configuration("no ACME account yet: call register(contact:) first")
                }
                keyID = accountURL
            } else {
                keyID = nil
            }
            let header = ACMEAccountKey.protectedHeader(
                url: url, nonce: nonce, keyID: keyID, jwk: accountKey.jwkJSON)
            let body = try accountKey.signedBody(protectedHeader: header, payload: payload ?? Data())
            var headers = [("Content-Type", "application/jose+json")]
            if let accept { headers.append(("Accept", accept)) }
            let response = try await http.send("POST", url, headers: headers, body: [UInt8](body))
            if let fresh = response.header("Replay-Nonce") { nonces.append(fresh) }
            do {
                try Self.check(response, url: url)
                return response
            } catch let error as ACMEError {
                if case .problem(let problem, _, _) = error, problem.kind == "badNonce", attempt < 10 {
                    logger.debug("ACME badNonce, retrying", metadata: ["url": "\(url)"])
                    continue
                }
                throw error
            }
        }
    }

    func nextNonce() async throws -> String {
        if let nonce = nonces.popLast() { return nonce }
        let directory = try await fetchDirectory()
        let response = try await http.send("HEAD", directory.newNonce)
        guard let nonce = response.header("Replay-Nonce") else {
            try Self.check(response, url: directory.newNonce)
            throw ACMEError.unexpectedResponse(
                url: directory.newNonce, status: response.status, reason: "no Replay-Nonce header")
        }
        return nonce
    }

    // MARK: Responses

    /// Throws the problem document (or a plain error) when the status is not 2xx.
    static func check(_ response: ACMEHTTPResponse, url: String) throws {
        guard !(200..<300).contains(response.status) else { return }
        let retryAfter = response.header("Retry-After").flatMap { ACMEBackoff.parseRetryAfter($0, now: Date()) }
        if var problem = try? JSONDecoder().decode(ACMEProblem.self, from: Data(response.body)) {
            problem.status = problem.status ?? response.status
            throw ACMEError.problem(problem, url: url, retryAfter: retryAfter)
        }
        let text = String(decoding: response.body.prefix(300), as: UTF8.self)
        throw ACMEError.unexpectedResponse(url: url, status: response.status, reason: text)
    }

    static func decode<T: Decodable>(_ response: ACMEHTTPResponse, url: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body))
        } catch {
            throw ACMEError.unexpectedResponse(
                url: url, status: response.status, reason: "cannot decode \(T.self): \(error)")
        }
    }
}

struct NewAccountPayload: Encodable {
    var termsOfServiceAgreed: Bool?
    var contact: [String]?
    var onlyReturnExisting: Bool?
}

struct AccountBody: Decodable {
    var status: String
    var contact: [String]?
}
