import CanopySpec

/// How a build ended, with timings and what it produced.
public struct BuildResult: Sendable {
    public enum Status: Sendable {
        case succeeded
        case failed(BuildFailure)
        case cancelled
        case timedOut
    }

    /// Time spent in one phase of one stage.
    public struct PhaseDuration: Sendable, Hashable {
        public var stage: BuildStage.Kind
        public var phase: String
        public var duration: Duration

        public init(stage: BuildStage.Kind, phase: String, duration: Duration) {
            self.stage = stage
            self.phase = phase
            self.duration = duration
        }
    }

    public var status: Status
    /// Phases that started, in order.
    public var phaseDurations: [PhaseDuration]
    public var duration: Duration
    /// Files copied into the artifact directory (0 unless succeeded).
    public var artifactCount: Int
    public var byteCount: Int64

    public init(
        status: Status, phaseDurations: [PhaseDuration] = [], duration: Duration = .zero, artifactCount: Int = 0,
        byteCount: Int64 = 0
    ) {
        self.status = status
        self.phaseDurations = phaseDurations
        self.duration = duration
        self.artifactCount = artifactCount
        self.byteCount = byteCount
    }

    /// True for `.succeeded`.
    public var succeeded: Bool {
        if case .succeeded = status { return true }
        return false
    }

    /// The failure, for `.failed`.
    public var failure: BuildFailure? {
        if case .failed(let failure) = status { return failure }
        return nil
    }
}
