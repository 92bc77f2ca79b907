import Crypto
import Foundation

/// The dashboard's sign-ins: `POST /login` with the admin token opens a session, and the browser
/// holds only its random id (`canopy-session`, HttpOnly, SameSite=Strict, Secure over HTTPS), never
/// the token; `POST /logout` ends it. Sessions live in memory: a restart signs everyone out.
///
/// `@unchecked Sendable`: `expiry` is only touched while holding `lock`.
final class DashboardSessions: @unchecked Sendable {
    static let cookieName = "canopy-session"
    /// How long a session lasts after sign-in.
    let lifetime: TimeInterval
    private let lock = NSLock()
    private var expiry: [String: Date] = [:]

    init(lifetime: TimeInterval = 12 * 3600) {
        self.lifetime = lifetime
    }

    /// A new session; returns its id (32 random bytes, hex).
    func open() -> String {
        let id = SymmetricKey(size: .bits256).withUnsafeBytes { $0.map { String(format: "%02x", $0) }.joined() }
        let now = Date()
        lock.withLock {
            expiry = expiry.filter { $0.value > now }
            expiry[id] = now.addingTimeInterval(lifetime)
        }
        return id
    }

    func isValid(_ id: String) -> Bool {
        lock.withLock { expiry[id].map { $0 > Date() } ?? false }
    }

    func close(_ id: String) {
        _ = lock.withLock { expiry.removeValue(forKey: id) }
    }

    /// The `Set-Cookie` value for `id`; nil id clears the cookie.
    func cookie(_ id: String?, secure: Bool) -> String {
        let value = id ?? ""
        let age = id == nil ? 0 : Int(lifetime)
        return "\(Self.cookieName)=\(value); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(age)"
            + (secure ? "; Secure" : "")
    }
}
