import Foundation

/// How long ago, as tables and the dashboard show it: `42s`, `5m`, `3h`, `2d`.
public func ageText(since date: Date, now: Date = Date()) -> String {
    let seconds = Int(now.timeIntervalSince(date))
    if seconds < 60 { return "\(max(0, seconds))s" }
    if seconds < 3600 { return "\(seconds / 60)m" }
    if seconds < 86400 { return "\(seconds / 3600)h" }
    return "\(seconds / 86400)d"
}
