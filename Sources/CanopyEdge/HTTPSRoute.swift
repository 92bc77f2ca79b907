import CanopySpec
import CanopyTLS

/// A hostname's HTTPS behaviour, computed once per snapshot: whether its cleartext requests are
/// redirected (it has a certificate, a TLS listener runs, and the site did not say `https: allow`)
/// and the HSTS line its HTTPS responses carry.
struct HTTPSRoute {
    var redirect: String?
    var hstsLine: [UInt8]?

    init() {}

    init(route: HostRoute, certificates: CertificateSet, tlsPort: Int?) {
        guard let tlsPort, route.tls.tls != .off, certificates.covers(route.hostname) else { return }
        if route.tls.https != .allow {
            redirect = "https://" + route.hostname + (tlsPort == 443 ? "" : ":\(tlsPort)")
        }
        if let hsts = route.tls.hsts {
            hstsLine = Array("Strict-Transport-Security: \(hsts.headerValue)\r\n".utf8)
        }
    }
}
