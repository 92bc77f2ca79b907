import CanopyAdminAPI
import CanopyTLS
import Crypto
import Foundation

/// What the ACME manager keeps in the data folder, beside the certificates:
///
/// ```
/// <data>/tls/acme/<directory>/account.pem    the account key (mode 0600)
/// <data>/tls/acme/<directory>/account.json   the account URL and contact
/// <data>/tls/acme/<directory>/history.json   failures per name and the account's recent orders
/// ```
///
/// `<directory>` is the CA's host and a hash of its directory URL, so that moving from the staging
/// CA to production starts a new account and a new history instead of mixing them.
struct ACMEFiles: Sendable {
    let folder: String

    init(store: CertificateStore, directoryURL: String) {
        let host = URL(string: directoryURL)?.host ?? "ca"
        let hash = SHA256.hash(data: Data(directoryURL.utf8)).prefix(4).map { String(format: "%02x", $0) }.joined()
        let safeHost = String(host.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" })
        folder = store.root + "/acme/" + safeHost + "-" + hash
    }

    var accountKey: String { folder + "/account.pem" }
    var accountRecord: String { folder + "/account.json" }
    var historyFile: String { folder + "/history.json" }

    /// The account key, created (and written durably, mode 0600) on first use.
    func loadOrCreateAccountKey() throws -> ACMEAccountKey {
        if let text = try? String(contentsOfFile: accountKey, encoding: .utf8) {
            do {
                return try ACMEAccountKey(pemRepresentation: text)
            } catch {
                throw CanopyError(
                    "the ACME account key \(accountKey) cannot be read: \(error); move it away to start a new account")
            }
        }
        let key = ACMEAccountKey.generate()
        try DurableFile.makeFolder(folder)
        try DurableFile.write(Array(key.pemRepresentation.utf8), to: accountKey, mode: 0o600)
        return key
    }

    /// Records the account URL (for people and for `canopy certs`; the key finds the account again).
    func saveAccount(url: String, contact: [String]) throws {
        let record = AccountRecord(url: url, contact: contact)
        try DurableFile.write(Array(try JSONEncoder().encode(record)), to: accountRecord, mode: 0o600)
    }

    struct AccountRecord: Codable {
        var url: String
        var contact: [String]
    }

    func loadHistory() -> ACMEHistory {
        guard let data = FileManager.default.contents(atPath: historyFile),
            let history = try? Self.decoder.decode(ACMEHistory.self, from: data)
        else { return ACMEHistory() }
        return history
    }

    func save(_ history: ACMEHistory) throws {
        try DurableFile.makeFolder(folder)
        try DurableFile.write(Array(try Self.encoder.encode(history)), to: historyFile, mode: 0o600)
    }

    /// Canopy's JSON (dates as `Timestamp`); files written before with whole seconds still read.
    static let encoder = CanopyJSON.encoder()
    static let decoder = CanopyJSON.decoder()
}

/// The ACME manager's memory, kept across restarts so that back-off and the CA's rate limits hold
/// even when the server restarts in a loop.
struct ACMEHistory: Codable, Sendable, Hashable {
    /// Failures since the last success, per name.
    var failures: [String: [RenewalPolicy.Failure]] = [:]
    /// The last error per name, as shown in `canopy certs`.
    var lastErrors: [String: String] = [:]
    /// Challenge types that failed validation, per name, most recent last: the next attempt tries
    /// the others first.
    var failedChallenges: [String: [String]] = [:]
    /// The account's new orders (all names).
    var orders: [Date] = []
    /// The fingerprint of the certificate this CA last issued per name: a stored certificate that is
    /// not one of them (another CA's, e.g. staging's before a move to production) is replaced.
    var issued: [String: String] = [:]

    /// The policy's view of one name's history.
    func policyHistory(_ name: String) -> RenewalPolicy.History {
        RenewalPolicy.History(failures: failures[name] ?? [], orders: orders)
    }

    /// Drops what no limit looks at any more (orders older than the window).
    mutating func prune(now: Date, policy: RenewalPolicy) {
        orders.removeAll { $0 < now - policy.orderWindow }
    }
}
