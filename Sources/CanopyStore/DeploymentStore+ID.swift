import Foundation

extension DeploymentStore {
    /// A new deployment id: `d` + the UTC time as `yyyyMMddHHmmss` + 6 random base32 characters,
    /// e.g. `d20261123205210k3x9qa`. Lowercase, URL- and DNS-label-safe; ids sort by time (to the second).
    public static func newDeploymentID(date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func pad(_ value: Int?, _ width: Int) -> String {
            let s = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        let stamp =
            pad(c.year, 4) + pad(c.month, 2) + pad(c.day, 2) + pad(c.hour, 2) + pad(c.minute, 2) + pad(c.second, 2)
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        var generator = SystemRandomNumberGenerator()
        let suffix = String((0..<6).map { _ in alphabet[Int(generator.next(upperBound: UInt32(32)))] })
        return "d" + stamp + suffix
    }
}
