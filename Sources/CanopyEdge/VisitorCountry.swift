import NIOCore

/// A connection's visitor country, for rules with a Country condition: the connection's peer
/// address (the address the access log records; Canopy trusts no forwarded-for header) looked up
/// in the edge's GeoIP database the first time a rule asks, then kept for the connection, whose
/// peer does not change. Made only when the edge has a database, so a request on an edge without
/// one, or one no country rule asks about, costs nothing. Used on the connection's event loop only.
final class VisitorCountry {
    private let database: GeoIPDatabase
    private let address: SocketAddress?
    private var resolved = false
    private var code: String?

    init(database: GeoIPDatabase, address: SocketAddress?) {
        self.database = database
        self.address = address
    }

    /// The uppercase ISO 3166 code; nil when the database places the address in no country.
    var country: String? {
        if !resolved {
            code = address.flatMap(database.country(of:))
            resolved = true
        }
        return code
    }
}
