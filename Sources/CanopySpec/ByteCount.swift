import Foundation

/// Sizes as people write them on a command line (`2GiB`, `512MiB`, `10G`, `1.5GiB`) and as Canopy
/// prints them (`2 GiB`): one reading for every size flag (`--cache-size`, `--build-max-memory`,
/// `--build-max-disk`, `--build-max-file-size`).
public enum ByteCount {
    /// Bytes for `text`; nil when it is not a positive size. Units are powers of 1024 whether or not
    /// they are written with an `i` (`K`, `KiB`, `KB`, `M`, `MiB`, `MB`, `G`, `GiB`, `GB`, `T`, …), as
    /// nginx and systemd read them; a bare number is in units of `1 << bareShift` bytes (MiB by
    /// default, as `--build-max-file-size` always took; 0 for bytes).
    public static func parse(_ text: String, bareShift: Int = 20) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let digits = trimmed.prefix { $0.isNumber || $0 == "." }
        guard !digits.isEmpty, let number = Double(digits), number > 0 else { return nil }
        let unit = trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
        let shifts: [String: Int] = [
            "": bareShift, "b": 0, "k": 10, "kb": 10, "kib": 10, "m": 20, "mb": 20, "mib": 20, "g": 30, "gb": 30,
            "gib": 30, "t": 40, "tb": 40, "tib": 40,
        ]
        guard let shift = shifts[unit] else { return nil }
        let bytes = number * Double(1 << shift)
        guard bytes >= 1, bytes < Double(Int.max) else { return nil }
        return Int(bytes)
    }

    /// `2 GiB`, `256 MiB`, `1.5 GiB`, `512 bytes`.
    public static func format(_ bytes: Int) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = "bytes"
        for next in units where value >= 1024 {
            value /= 1024
            unit = next
        }
        if unit == "bytes" { return "\(bytes) bytes" }
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? "\(Int(rounded)) \(unit)" : "\(rounded) \(unit)"
    }
}
