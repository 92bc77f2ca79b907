import CanopyBuild
import CanopySpec
import CanopyTestSupport
import Foundation
import Testing

/// Issue #15, item 7: memory and disk limits per build, as the anchors have them (Amplify's
/// standard build instance has 8 GiB of memory and 128 GB of disk:
/// https://docs.aws.amazon.com/amplify/latest/userguide/custom-build-instance.html). As root, with
/// real builds running as uids of their own; a cgroup where this machine lets the server make one.
@Suite struct BuildLimitsTests {
    static let isRoot = getuid() == 0
    static let hasPython = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")

    /// Far from BuildIdentitiesTests' uids; one range per test (they run in parallel).
    static func identities(_ offset: uid_t) throws -> BuildIdentities {
        let first: uid_t = 1_610_000_000 + offset * 100
        return BuildIdentities(account: try BuildUser.lookup("nobody"), uids: first...(first + 99))
    }

    /// A folder of build cgroups for one test, or nil (with a notice) where none can be made.
    static func cgroups(_ test: String) -> BuildCgroups? {
        switch BuildCgroups.prepare(name: "canopy-test-" + UUID().uuidString.prefix(8)) {
        case .success(let made): return made
        case .failure(let problem):
            print("BuildLimitsTests.\(test): skipped, no cgroup can be made here (\(problem))")
            return nil
        }
    }

    static func removeFolders(_ cgroups: BuildCgroups) {
        rmdir(cgroups.parent)
        if let pids = cgroups.pidsParent { rmdir(pids) }
    }

    /// Runs `commands` as a uid of its own with `limits` (and `cgroups`, if any).
    static func build(
        _ commands: [String], limits: BuildLimits, cgroups: BuildCgroups?, offset: uid_t
    ) async throws -> (result: BuildResult, log: String) {
        let identities = try Self.identities(offset)
        let user = try #require(identities.acquire())
        let fixture = try Fixture()
        defer { fixture.remove() }
        var request = fixture.request(frontendPlan(commands))
        request.runAs = user
        request.limits = limits
        request.cgroups = cgroups
        let result = await fixture.run(request)
        identities.release(user)
        return (result, fixture.log)
    }

    static let allocate600MiB = "python3 -c 'b = bytearray(600 * 1024 * 1024); print(len(b))'"
    static let deploy = "mkdir -p dist && echo ok > dist/index.html"

    @Test(.enabled(if: isRoot && hasPython)) func aBuildOverItsMemoryLimitIsStoppedWithAMessage() async throws {
        guard let cgroups = Self.cgroups("memory") else { return }
        defer { Self.removeFolders(cgroups) }
        let limits = BuildLimits(processes: 512, memoryBytes: 256 << 20)
        // The limit holds for the processes together: two of 150 MiB each go over 256 MiB. The
        // second allocates only once the first holds its memory (on a loaded machine the first
        // could otherwise still be starting when the second is done).
        let (result, log) = try await Self.build(
            [
                "python3 -c 'import time; b = bytearray(150 << 20); open(\"held\", \"w\").close(); time.sleep(600)' &",
                "for i in $(seq 600); do [ -e held ] && break; sleep 0.1; done",
                "python3 -c 'b = bytearray(150 << 20); print(\"allocated\")'", Self.deploy,
            ], limits: limits, cgroups: cgroups, offset: 0)
        let failure = try #require(result.failure, "\(log)")
        #expect(failure.message.contains("used more than 256 MiB of memory"), "\(failure)")
        #expect(log.contains("## Build stopped: it used more than 256 MiB of memory"), "\(log)")
        #expect(log.contains("## Memory: at most"), "\(log)")
        // Each build's cgroup goes with it.
        let left = (try? FileManager.default.contentsOfDirectory(atPath: cgroups.parent)) ?? []
        #expect(!left.contains { $0.hasPrefix("build-") }, "\(left)")

        // Within the limit the same build passes: the limit is what stopped it.
        let (within, withinLog) = try await Self.build(
            ["python3 -c 'b = bytearray(64 << 20)'", Self.deploy], limits: limits, cgroups: cgroups, offset: 0)
        #expect(within.succeeded, "\(withinLog)")
    }

    /// Where no cgroup can be made, each process gets `RLIMIT_DATA`: the allocation fails.
    @Test(.enabled(if: isRoot && hasPython)) func withoutACgroupEachProcessIsLimited() async throws {
        let (result, log) = try await Self.build(
            [Self.allocate600MiB, Self.deploy], limits: BuildLimits(memoryBytes: 256 << 20), cgroups: nil, offset: 1)
        #expect(result.failure != nil, "\(log)")
        #expect(log.contains("MemoryError"), "\(log)")
    }

    /// A build's cgroup has its limits, takes the stage's processes, and is removed after.
    @Test(.enabled(if: isRoot)) func aBuildsCgroupHoldsItsLimits() throws {
        guard let cgroups = Self.cgroups("cgroup") else { return }
        defer { Self.removeFolders(cgroups) }
        let cgroup = try cgroups.make(buildID: "b-limits", memoryBytes: 256 << 20, processes: 100).get()
        let folder = cgroups.parent + "/build-b-limits"
        let memoryFile = cgroup.version == .v2 ? "/memory.max" : "/memory.limit_in_bytes"
        #expect(
            (try? String(contentsOfFile: folder + memoryFile, encoding: .utf8))?.trimmingCharacters(
                in: .whitespacesAndNewlines) == "\(256 << 20)")
        let pidsFolder = cgroup.version == .v2 ? folder : cgroups.pidsParent.map { $0 + "/build-b-limits" }
        if let pidsFolder {
            #expect(
                (try? String(contentsOfFile: pidsFolder + "/pids.max", encoding: .utf8))?.trimmingCharacters(
                    in: .whitespacesAndNewlines) == "100")
        }
        #expect(cgroup.remove() == nil)
        #expect(!FileManager.default.fileExists(atPath: folder))
    }

    /// The watchdog measures the checkout and the uid's temporary files together, while the
    /// build runs: 20 MiB in each go over 32 MiB, and the build is stopped before its long sleep.
    @Test(.enabled(if: isRoot)) func aBuildOverItsDiskLimitIsStoppedWhileItRuns() async throws {
        let (result, log) = try await Self.build(
            [
                "dd if=/dev/zero of=/tmp/canopy-disk-test-$$ bs=1M count=20 status=none",
                "dd if=/dev/zero of=big bs=1M count=20 status=none", "sleep 600", Self.deploy,
            ], limits: BuildLimits(diskBytes: 32 << 20), cgroups: nil, offset: 2)
        let failure = try #require(result.failure, "\(log)")
        #expect(failure.message.contains("used more than 32 MiB of disk"), "\(failure)")
        #expect(log.contains("## Build stopped: it used more than 32 MiB of disk"), "\(log)")
    }

    /// A stage that writes past the limit and ends before the watchdog's next look still fails.
    @Test(.enabled(if: isRoot)) func aFastWriterIsCaughtWhenItsStageEnds() async throws {
        let (result, log) = try await Self.build(
            ["dd if=/dev/zero of=big bs=1M count=48 status=none", Self.deploy],
            limits: BuildLimits(diskBytes: 32 << 20), cgroups: nil, offset: 3)
        #expect(result.failure?.message.contains("used more than 32 MiB of disk") == true, "\(log)")
    }
}
