import CanopyBuild

/// Where a build's time went, printed as the build log's last line so that users see it:
/// `Timings: checkout 0.04 s, build 1.20 s, test 0.31 s, ingest 0.08 s, activate 0.01 s (total 1.64 s)`.
struct BuildTimings: Sendable {
    /// Phases in the order they ran, each with its duration.
    private(set) var phases: [(name: String, duration: Duration)] = []

    mutating func add(_ name: String, _ duration: Duration) {
        if let index = phases.firstIndex(where: { $0.name == name }) {
            phases[index].duration += duration
        } else {
            phases.append((name, duration))
        }
    }

    /// The runner's time: its test stage's phases are `test`, the rest of its run `build` (the
    /// frontend's and backend's phases and what the runner does around them: the cache, the hand-over,
    /// the artifact collection).
    mutating func add(_ result: BuildResult) {
        let test = result.phaseDurations.filter { $0.stage == .test }.reduce(Duration.zero) { $0 + $1.duration }
        add("build", max(.zero, result.duration - test))
        if result.phaseDurations.contains(where: { $0.stage == .test }) { add("test", test) }
    }

    var line: String {
        let total = phases.reduce(Duration.zero) { $0 + $1.duration }
        let parts = phases.map { "\($0.name) \(Self.seconds($0.duration))" }
        return "Timings: \(parts.joined(separator: ", ")) (total \(Self.seconds(total)))"
    }

    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let value = Double(seconds) + Double(attoseconds) / 1e18
        return String(format: "%.2f s", value)
    }
}
