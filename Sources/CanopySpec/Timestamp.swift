import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The one timestamp format of Canopy's logs and JSON: ISO 8601 in UTC with milliseconds,
/// `2026-11-23T21:05:48.123Z` (build timings need better than whole seconds).
public enum Timestamp {
    /// Now, formatted.
    public static func now() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return format(seconds: now.tv_sec, milliseconds: Int(now.tv_nsec / 1_000_000))
    }

    /// `date`, formatted.
    public static func string(from date: Date) -> String {
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded(.down)
        let seconds = (milliseconds / 1000).rounded(.down)
        return format(seconds: time_t(seconds), milliseconds: Int(milliseconds - seconds * 1000))
    }

    /// `date` to the second, `2026-11-23T21:05:48Z`: for tables and messages people read
    /// (`canopy certs`, the dashboard, an ACME server's Retry-After).
    public static func seconds(from date: Date) -> String {
        format(seconds: time_t(date.timeIntervalSince1970.rounded(.down)), milliseconds: nil)
    }

    /// A timestamp in this format, or one without milliseconds (RFC 3339, as ACME servers write
    /// them: any fraction of a second, `Z` or an offset); nil for anything else.
    public static func date(from text: String) -> Date? {
        (try? precise.parse(text)) ?? (try? whole.parse(text))
    }

    private static let precise = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private static let whole = Date.ISO8601FormatStyle()

    private static func format(seconds: time_t, milliseconds: Int?) -> String {
        var parts = tm()
        var seconds = seconds
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))T"
            + "\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2))"
            + (milliseconds.map { "." + pad($0, 3) } ?? "") + "Z"
    }
}
