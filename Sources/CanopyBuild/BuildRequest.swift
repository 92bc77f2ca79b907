import CanopySpec

/// Everything one build needs: which commit, where its checkout is, what to run, where to put the results.
public struct BuildRequest: Sendable {
    public var buildID: String
    public var site: String
    public var branch: String
    public var commit: String
    /// The checked-out commit. The runner modifies it (it is a scratch copy).
    public var sourceDirectory: String
    public var plan: BuildPlan
    /// Site and branch variables from the Sites file, already merged. They override `plan.variables`.
    public var environment: [String: String]
    /// Values replaced by `***` in the log.
    public var secrets: Set<String>
    /// Exposed as `AWS_CLONE_URL` and `CANOPY_CLONE_URL`.
    public var cloneURL: String
    /// For the whole build; when it passes, the process group is killed and the result is `.timedOut`.
    public var timeout: Duration
    /// Per-branch cache folder: `cache.paths` are restored from it before and saved to it after a successful build.
    public var cacheDirectory: String?
    /// Used for restoring when `cacheDirectory` is missing or empty (a new preview seeded from production).
    public var seedCacheDirectory: String?
    /// The log streams here while the build runs (created, or truncated).
    public var logFile: String
    /// Where the selected artifacts are copied. Must not exist, or be empty.
    public var artifactDirectory: String
    /// Where `plan.testArtifacts` are copied, even when tests fail.
    public var testArtifactDirectory: String?
    /// Output-size limit for the build's commands; beyond it the build fails.
    public var maxLogBytes: Int
    /// `ulimit -t` for the build's processes.
    public var cpuSeconds: Int?
    /// `ulimit -u` (processes and threads of the build's uid) and `ulimit -f` (the largest file a
    /// process may write, in bytes) for builds that run as a uid of their own (`runAs.exclusive`).
    public var limits = BuildLimits()
    /// Where the build's cgroup is made (`memory.max`, `pids.max`, OOM kills counted), for a build
    /// that runs as a uid of its own; nil limits memory per process instead (`RLIMIT_DATA`).
    public var cgroups: BuildCgroups?
    /// Runs the commands as this user (the server must be root). The checkout's parent folders
    /// must let the user through; the runner gives it the checkout and HOME.
    public var runAs: BuildUser?
    /// Where the branch is served, in the Sites file's order: `CANOPY_HOSTNAMES` (space-separated)
    /// and, with `url`, `CANOPY_URL` in the build environment.
    public var hostnames: [String] = []
    /// The Sites file's `skipBackend: true`: the plan's backend stage (Amplify's AWS backend deploy)
    /// is left out instead of refused.
    public var skipBackend = false
    /// The branch's URL (`CANOPY_URL`); nil means `http://` and the first hostname.
    public var url: String?
    /// The branch's last artifact folder, kept with the work tree this checkout reuses: hard links
    /// into it. For a build that runs as the server's own user (its artifacts are links), it
    /// becomes this build's artifact folder, each link that is still the selected file kept as it
    /// is, the rest replaced or removed (`ArtifactCollector.refresh`); otherwise it is removed.
    public var keptArtifactDirectory: String?

    public init(
        buildID: String, site: String, branch: String, commit: String, sourceDirectory: String,
        plan: BuildPlan, environment: [String: String] = [:], secrets: Set<String> = [],
        cloneURL: String = "", timeout: Duration = .seconds(30 * 60), cacheDirectory: String? = nil,
        seedCacheDirectory: String? = nil, logFile: String, artifactDirectory: String,
        testArtifactDirectory: String? = nil, maxLogBytes: Int = 50 * 1024 * 1024, cpuSeconds: Int? = nil,
        runAs: BuildUser? = nil
    ) {
        self.buildID = buildID
        self.site = site
        self.branch = branch
        self.commit = commit
        self.sourceDirectory = sourceDirectory
        self.plan = plan
        self.environment = environment
        self.secrets = secrets
        self.cloneURL = cloneURL
        self.timeout = timeout
        self.cacheDirectory = cacheDirectory
        self.seedCacheDirectory = seedCacheDirectory
        self.logFile = logFile
        self.artifactDirectory = artifactDirectory
        self.testArtifactDirectory = testArtifactDirectory
        self.maxLogBytes = maxLogBytes
        self.cpuSeconds = cpuSeconds
        self.runAs = runAs
    }
}

/// Resource limits of a build that runs as a uid of its own. nil: no limit beyond the server's.
public struct BuildLimits: Sendable, Equatable {
    /// Processes and threads the build's uid may have at once (`RLIMIT_NPROC`).
    public var processes: Int?
    /// The largest file a build process may write, in bytes (`RLIMIT_FSIZE`, rounded down to KiB).
    public var fileSizeBytes: Int?
    /// Memory of the whole build (its cgroup's `memory.max`), or of each of its processes
    /// (`RLIMIT_DATA`) where the server cannot make a cgroup.
    public var memoryBytes: Int?
    /// Disk the build may fill: its checkout, HOME and temporary files, measured while it runs.
    public var diskBytes: Int?

    public init(processes: Int? = nil, fileSizeBytes: Int? = nil, memoryBytes: Int? = nil, diskBytes: Int? = nil) {
        self.processes = processes
        self.fileSizeBytes = fileSizeBytes
        self.memoryBytes = memoryBytes
        self.diskBytes = diskBytes
    }
}
