import CMaxMindDB
import Foundation
import NIOCore

/// A GeoIP database in the MaxMind DB format (MaxMind's GeoLite2-Country.mmdb, DB-IP's
/// dbip-country-lite.mmdb, or a City database), read through libmaxminddb: `canopy serve --geoip
/// FILE`. It answers one question, the country of a visitor's address, for rules with a Country
/// condition (Netlify's `Country=`, Amplify's `condition`).
///
/// The file is opened once, at start, and mapped into memory (MMDB_MODE_MMAP): a lookup walks the
/// mapped search tree and never reads the file, so it may run on an event loop. Replace the file by
/// renaming a new one over it (the mapping keeps the old one) and restart to use the new one.
public final class GeoIPDatabase: @unchecked Sendable {
    // @unchecked: the MMDB_s is written only by MMDB_open (in init) and freed in deinit; lookups
    // only read it, and libmaxminddb documents lookups on one opened MMDB_s as thread-safe.
    private let handle: UnsafeMutablePointer<MMDB_s>
    /// The file it was opened from.
    public let path: String
    /// What the file says it is (`GeoLite2-Country`, `DBIP-Country-Lite`, …).
    public let databaseType: String
    /// When the file was built, from its metadata.
    public let buildDate: Date
    /// 4 or 6: the addresses its search tree holds (an IPv6 tree answers IPv4 addresses too).
    public let ipVersion: Int

    /// Opens `path`. Throws, with what is wrong and what `--geoip` takes, when the file is missing,
    /// unreadable or not a MaxMind DB.
    public init(path: String) throws {
        let handle = UnsafeMutablePointer<MMDB_s>.allocate(capacity: 1)
        handle.initialize(to: MMDB_s())
        let status = MMDB_open(path, UInt32(MMDB_MODE_MMAP), handle)
        let openErrno = errno
        guard status == MMDB_SUCCESS else {
            handle.deinitialize(count: 1)
            handle.deallocate()
            throw GeoIPDatabaseError(path: path, status: status, errno: openErrno)
        }
        self.handle = handle
        self.path = path
        let metadata = handle.pointee.metadata
        databaseType = metadata.database_type.map { String(cString: $0) } ?? "unknown"
        buildDate = Date(timeIntervalSince1970: TimeInterval(metadata.build_epoch))
        ipVersion = Int(metadata.ip_version)
    }

    deinit {
        MMDB_close(handle)
        handle.deinitialize(count: 1)
        handle.deallocate()
    }

    /// The uppercase ISO 3166 code of the country `address` is in (the database's `country`, else its
    /// `registered_country`); nil when the database places it nowhere (a private or unknown
    /// address, an IPv6 address in an IPv4 database). Reads memory only; allocates nothing (a
    /// two-letter String is stored inline).
    public func country(of address: SocketAddress) -> String? {
        var code: (CChar, CChar, CChar, CChar) = (0, 0, 0, 0)
        let length = address.withSockAddr { sockaddr, _ in
            withUnsafeMutableBytes(of: &code) { bytes in
                canopy_mmdb_country(handle, sockaddr, bytes.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
        }
        guard length > 0 else { return nil }
        return withUnsafeBytes(of: code) { bytes in
            String(decoding: bytes.prefix(Int(length)), as: UTF8.self).uppercased()
        }
    }

    /// One line for the server's log: the file, what it is, when it was built.
    public var summary: String {
        let day = ISO8601DateFormatter.string(
            from: buildDate, timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withFullDate])
        return "\(path): \(databaseType), built \(day), IPv\(ipVersion)"
    }
}

/// A GeoIP database that could not be opened: the file, what libmaxminddb said, and what to do.
public struct GeoIPDatabaseError: Error, CustomStringConvertible {
    public let description: String

    init(path: String, status: Int32, errno code: Int32) {
        let reason = String(cString: MMDB_strerror(status))
        switch status {
        case MMDB_FILE_OPEN_ERROR, MMDB_IO_ERROR:
            description =
                "cannot read the GeoIP database \(path): \(String(cString: strerror(code))) (\(reason)); --geoip takes a MaxMind DB file such as DB-IP's dbip-country-lite.mmdb or MaxMind's GeoLite2-Country.mmdb"
        default:
            description =
                "\(path) is not a MaxMind DB file (\(reason)); --geoip takes a .mmdb file such as DB-IP's dbip-country-lite.mmdb or MaxMind's GeoLite2-Country.mmdb (a .csv or .dat file will not do)"
        }
    }
}
