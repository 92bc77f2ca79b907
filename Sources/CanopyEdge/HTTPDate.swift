import Foundation

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) formatting and parsing, without a DateFormatter.
enum HTTPDate {
    static let days = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func format(_ seconds: Int) -> String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let day = days[(seconds / 86400 % 7 + 7) % 7]
        return
            "\(day), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }

    /// Parses IMF-fixdate (and the obsolete RFC 850 and asctime forms leniently); nil when unreadable.
    static func parse(_ text: String) -> Int? {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "-" }).map(String.init)
        // IMF-fixdate: Sun 06 Nov 1994 08:49:37 GMT
        var day: Int?
        var month: Int?
        var year: Int?
        var clock: [Int]?
        for part in parts {
            if let m = months.firstIndex(of: part) {
                month = m
            } else if part.contains(":") {
                clock = part.split(separator: ":").compactMap { Int($0) }
            } else if let n = Int(part) {
                if n > 31 || part.count == 4 {
                    year = n < 100 ? 1900 + n : n
                } else if day == nil {
                    day = n
                } else {
                    year = n < 70 ? 2000 + n : 1900 + n
                }
            }
        }
        guard let day, let month, let year, let clock, clock.count == 3 else { return nil }
        var parts_ = tm()
        parts_.tm_year = Int32(year - 1900)
        parts_.tm_mon = Int32(month)
        parts_.tm_mday = Int32(day)
        parts_.tm_hour = Int32(clock[0])
        parts_.tm_min = Int32(clock[1])
        parts_.tm_sec = Int32(clock[2])
        return Int(timegm(&parts_))
    }
}

/// The `Date:` header line, formatted at most once a second per connection.
struct DateHeaderCache {
    private var second = -1
    private var line: [UInt8] = []

    mutating func current() -> [UInt8] {
        let now = time(nil)
        if now != second {
            second = now
            line = Array("Date: \(HTTPDate.format(now))\r\n".utf8)
        }
        return line
    }
}
