import CanopySpec
import Foundation
import X509

/// ACME Renewal Information (ARI, RFC 9773): the CA's suggested window for renewing a
/// certificate, which moves earlier when the CA must revoke (and renewals inside it are exempt
/// from Let's Encrypt's rate limits).
public struct ACMERenewalInfo: Sendable, Hashable {
    /// When to renew: a moment chosen inside this window.
    public var suggestedWindow: ClosedRange<Date>
    /// When to ask again (the server's `Retry-After`, else six hours).
    public var nextCheck: Date
    /// The CA's explanation, when the window moved for a reason (e.g. an incident).
    public var explanationURL: String?
}

extension ACMEClient {
    /// The certificate's ARI identifier (RFC 9773 §4.1): base64url of the Authority Key
    /// Identifier's keyIdentifier, a dot, and base64url of the serial number's DER content octets.
    public static func renewalInfoIdentifier(_ certificate: Certificate) throws -> String {
        guard let keyIdentifier = try certificate.extensions.authorityKeyIdentifier?.keyIdentifier else {
            throw ACMEError.configuration("the certificate has no Authority Key Identifier: no ARI identifier")
        }
        var serial = Array(certificate.serialNumber.bytes)
        while serial.count > 1 && serial[0] == 0 && serial[1] & 0x80 == 0 { serial.removeFirst() }
        if let first = serial.first, first & 0x80 != 0 { serial.insert(0, at: 0) }
        return Base64URL.encode(Data(keyIdentifier)) + "." + Base64URL.encode(Data(serial))
    }

    /// The CA's renewal window for `certificate`; nil when the CA offers no ARI.
    public func renewalInfo(for certificate: Certificate, now: Date = Date()) async throws -> ACMERenewalInfo? {
        guard let base = try await fetchDirectory().renewalInfo else { return nil }
        let url = (base.hasSuffix("/") ? base : base + "/") + (try Self.renewalInfoIdentifier(certificate))
        let response = try await http.send("GET", url)
        try Self.check(response, url: url)
        return try Self.parseRenewalInfo(response.body, retryAfter: response.header("Retry-After"), url: url, now: now)
    }

    /// Decodes a renewalInfo response (`{"suggestedWindow": {"start": …, "end": …}}`).
    public static func parseRenewalInfo(
        _ body: [UInt8], retryAfter: String?, url: String, now: Date
    ) throws
        -> ACMERenewalInfo
    {
        struct Body: Decodable {
            struct Window: Decodable {
                var start: String
                var end: String
            }
            var suggestedWindow: Window
            var explanationURL: String?
        }
        let decoded: Body
        do {
            decoded = try JSONDecoder().decode(Body.self, from: Data(body))
        } catch {
            throw ACMEError.unexpectedResponse(url: url, status: 200, reason: "cannot decode renewalInfo: \(error)")
        }
        guard let start = Timestamp.date(from: decoded.suggestedWindow.start),
            let end = Timestamp.date(from: decoded.suggestedWindow.end),
            start <= end
        else {
            throw ACMEError.unexpectedResponse(
                url: url, status: 200, reason: "renewalInfo has no valid suggestedWindow (start must be before end)")
        }
        let next = retryAfter.flatMap { ACMEBackoff.parseRetryAfter($0, now: now) } ?? now.addingTimeInterval(6 * 3600)
        return ACMERenewalInfo(suggestedWindow: start...end, nextCheck: next, explanationURL: decoded.explanationURL)
    }
}
