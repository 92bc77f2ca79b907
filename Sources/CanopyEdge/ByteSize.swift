import Foundation

/// Sizes as people write them on a command line: `1048576`, `512KiB`, `64MiB`, `1GiB` (binary),
/// `64MB` (decimal), `64M` (binary, as nginx reads it).
public enum ByteSize {
    static let units: [(suffix: String, factor: Double)] = [
        ("kib", 1024), ("mib", 1024 * 1024), ("gib", 1024 * 1024 * 1024), ("tib", 1024 * 1024 * 1024 * 1024),
        ("kb", 1000), ("mb", 1_000_000), ("gb", 1_000_000_000), ("tb", 1_000_000_000_000),
        ("k", 1024), ("m", 1024 * 1024), ("g", 1024 * 1024 * 1024), ("t", 1024 * 1024 * 1024 * 1024),
        ("b", 1),
    ]

    /// The number of bytes `text` names, or nil when it is not a size.
    public static func parse(_ text: String) -> Int? {
        let lowered = text.trimmingCharacters(in: .whitespaces).lowercased()
        var number = Substring(lowered)
        var factor = 1.0
        if let unit = units.first(where: { lowered.hasSuffix($0.suffix) }) {
            number = lowered.dropLast(unit.suffix.count)
            factor = unit.factor
        }
        let digits = number.trimmingCharacters(in: .whitespaces)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isNumber || $0 == "." }), let value = Double(digits),
            value >= 0, value * factor < Double(Int.max)
        else { return nil }
        return Int(value * factor)
    }

    /// `256 MiB`, `1.5 GiB`, `900 KiB`, `12 bytes`.
    public static func format(_ bytes: Int) -> String {
        for (suffix, factor) in [("GiB", 1024.0 * 1024 * 1024), ("MiB", 1024.0 * 1024), ("KiB", 1024.0)]
        where Double(bytes) >= factor {
            let value = Double(bytes) / factor
            return value == value.rounded() ? "\(Int(value)) \(suffix)" : String(format: "%.1f \(suffix)", value)
        }
        return "\(bytes) bytes"
    }
}

extension BodyCache {
    /// The default budget: an eighth of the machine's memory, at most 1 GiB.
    public static var defaultBudget: Int {
        min(Int(clamping: ProcessInfo.processInfo.physicalMemory / 8), 1 << 30)
    }

    /// The default bound on open blob files: 1,024, or an eighth of the descriptor limit when that
    /// is lower (connections need most of them), at least 64.
    public static func defaultMaxOpenBlobs(descriptors: Int = DescriptorLimit.current) -> Int {
        max(64, min(1024, descriptors / 8))
    }
}
