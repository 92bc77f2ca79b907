import Foundation

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
