import CanopyBuild
import CanopySpec
import CanopyTestSupport
import Foundation
import Testing

/// Issue #15, item 7: with one shared build uid, one site's build read another's secrets from
/// `/proc/PID/environ` and wrote into its checkout, and processes that left a build outlived it.
/// Each build now runs as a uid of its own (as systemd's `DynamicUser=` gives each service one:
/// https://www.freedesktop.org/software/systemd/man/systemd.exec.html#DynamicUser=), with
/// `RLIMIT_NPROC`/`RLIMIT_FSIZE`, and every process of the uid is ended with it. As root, with real
/// builds (bash, setsid, sleep) running side by side; each test has uids of its own.
@Suite struct BuildIdentitiesTests {
    static let isRoot = getuid() == 0

    /// Disjoint per test (they run in parallel), far from any account.
    static func identities(_ offset: uid_t) throws -> BuildIdentities {
        let first: uid_t = 1_600_000_000 + offset * 100
        return BuildIdentities(account: try BuildUser.lookup("nobody"), uids: first...(first + 99))
    }

    /// One uid for every build, as `--build-user` alone gave before: the range's last uid (the
    /// tests take at most a few from its start), not marked as a build's own.
    static func sharedUser(_ identities: BuildIdentities) -> BuildUser {
        BuildUser(name: "shared", uid: identities.uids.upperBound, gid: gid_t(identities.uids.upperBound))
    }

    /// Site A's build holds a secret in its environment and waits; site B's build, meanwhile, reads
    /// every `/proc/*/environ` and overwrites A's checkout. Returns what B got out.
    static func attack(victim: BuildUser, attacker: BuildUser) async throws -> (stolen: String, defaced: Bool) {
        let a = try Fixture()
        let b = try Fixture()
        defer {
            a.remove()
            b.remove()
        }
        let secret = "site-a-secret-" + UUID().uuidString
        let release = a.folder + "/release"
        try a.write("index.html", "<p>site a</p>\n")
        var victimRequest = a.request(
            frontendPlan([
                "touch ready", "while [ ! -e \(release) ]; do sleep 0.05; done", "mkdir -p dist && cp index.html dist/",
            ]))
        victimRequest.environment = ["SITE_A_DEPLOY_KEY": secret]
        victimRequest.runAs = victim
        let victimBuild = Task { await a.run(victimRequest) }
        #expect(await eventually { FileManager.default.fileExists(atPath: a.source + "/ready") })

        var attackerRequest = b.request(
            frontendPlan([
                "mkdir -p dist",
                "for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < $f 2>/dev/null | grep SITE_A_DEPLOY_KEY || true; "
                    + "done > dist/stolen.txt",
                "if echo '<p>defaced</p>' > \(a.source)/index.html; then touch dist/defaced.txt; fi",
            ]))
        attackerRequest.runAs = attacker
        let attackResult = await b.run(attackerRequest)
        #expect(attackResult.succeeded, "\(String(describing: attackResult.failure))\n\(b.log)")
        FileManager.default.createFile(atPath: release, contents: nil)
        let victimResult = await victimBuild.value
        #expect(victimResult.succeeded, "\(String(describing: victimResult.failure))\n\(a.log)")
        let stolen = b.read(b.artifacts + "/stolen.txt") ?? ""
        let defaced =
            b.read(b.artifacts + "/defaced.txt") != nil || a.read(a.artifacts + "/index.html") != "<p>site a</p>\n"
        return (stolen.contains(secret) ? stolen : "", defaced)
    }

    @Test(.enabled(if: isRoot)) func aBuildCannotReadAnotherBuildsEnvironmentNorWriteItsCheckout() async throws {
        let identities = try Self.identities(0)
        let victim = try #require(identities.acquire())
        let attacker = try #require(identities.acquire())
        #expect(victim.uid != attacker.uid && victim.gid != attacker.gid)
        let outcome = try await Self.attack(victim: victim, attacker: attacker)
        identities.release(victim)
        identities.release(attacker)
        #expect(outcome.stolen.isEmpty, "the attacker read: \(outcome.stolen)")
        #expect(!outcome.defaced)

        // The attack is real: with one shared uid for every build, as before, it succeeds.
        let shared = Self.sharedUser(identities)
        let before = try await Self.attack(victim: shared, attacker: shared)
        #expect(!before.stolen.isEmpty)
        #expect(before.defaced)
    }

    /// A process that starts its own session and clears its environment escapes both the process
    /// group kill and the `CANOPY_BUILD_ID` search; as a uid of the build's own it still ends.
    static func leaveDaemon(as user: BuildUser) async throws -> (pid: Int32, tmpFile: String) {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let tmpFile = "/tmp/canopy-identity-test-" + UUID().uuidString
        var request = fixture.request(
            frontendPlan([
                "mkdir -p dist && echo left > \(tmpFile)",
                "setsid env -i /bin/sleep 600 > /dev/null 2>&1 & echo $! > dist/pid.txt",
                // Once it is sleep, setsid has run: the stage's group kill can no longer reach it.
                "while [ \"$(cat /proc/$(cat dist/pid.txt)/comm)\" != sleep ]; do sleep 0.05; done",
            ]))
        request.runAs = user
        let result = await fixture.run(request)
        #expect(result.succeeded, "\(String(describing: result.failure))\n\(fixture.log)")
        let text = fixture.read(fixture.artifacts + "/pid.txt")?.trimmingCharacters(in: .whitespacesAndNewlines)
        return (try #require(text.flatMap { Int32($0) }), tmpFile)
    }

    @Test(.enabled(if: isRoot)) func everyProcessOfABuildEndsWithItAndItsTemporaryFilesGo() async throws {
        let identities = try Self.identities(1)
        let user = try #require(identities.acquire())
        let (pid, tmpFile) = try await Self.leaveDaemon(as: user)
        #expect(processIsGone(pid), "the detached sleep \(pid) outlived its build")
        identities.release(user)
        #expect(!FileManager.default.fileExists(atPath: tmpFile))

        // With one shared uid, as before, the same process outlives the build.
        let shared = try await Self.leaveDaemon(as: Self.sharedUser(identities))
        #expect(!processIsGone(shared.pid))
        kill(shared.pid, SIGKILL)
        try? FileManager.default.removeItem(atPath: shared.tmpFile)
    }

    @Test(.enabled(if: isRoot)) func aBuildHasProcessAndFileSizeLimits() async throws {
        let identities = try Self.identities(2)
        let user = try #require(identities.acquire())
        defer { identities.release(user) }
        let fixture = try Fixture()
        defer { fixture.remove() }
        var request = fixture.request(
            frontendPlan([
                "echo \"limits: processes $(ulimit -Hu), file size $(ulimit -Hf) KiB\"",
                "ulimit -u unlimited || echo 'could not raise the limit'",
                "head -c 2097152 /dev/zero > big.bin",
            ]))
        request.runAs = user
        request.limits = BuildLimits(processes: 64, fileSizeBytes: 1 << 20)
        let result = await fixture.run(request)
        let failure = try #require(result.failure)
        #expect(fixture.log.contains("limits: processes 64, file size 1024 KiB"), "\(fixture.log)")
        #expect(fixture.log.contains("could not raise the limit"))
        #expect(failure.message.contains("file size limit"), "\(failure.message)")
        #expect(failure.command == "head -c 2097152 /dev/zero > big.bin")
    }

    /// A server that died mid-build left its processes running; at start they are ended, by uid.
    @Test(.enabled(if: isRoot)) func processesOfTheRangeLeftBeforeAStartAreEnded() async throws {
        let identities = try Self.identities(3)
        let uid = identities.uids.lowerBound + 7
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        sleeper.arguments = ["--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "--", "/bin/sleep", "600"]
        try sleeper.run()
        #expect(await eventually { BuildUser.livingProcesses(uids: uid...uid).count == 1 })
        #expect(identities.endLeftovers() == 1)
        sleeper.waitUntilExit()
        #expect(BuildUser.livingProcesses(uids: identities.uids).isEmpty)
    }

    /// Two servers with one range would end each other's builds: the second cannot claim it.
    @Test func aRangeIsClaimedByOneServerOnly() throws {
        let folder = try makeTemporaryDirectory("uid-claims")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let first = try Self.identities(4)
        #expect(first.claim(folder: folder) == nil)
        let second = try Self.identities(4)
        #expect(second.claim(folder: folder)?.contains("another canopy server") == true)
        #expect(try Self.identities(5).claim(folder: folder) == nil)
    }

    @Test func aRangeWithAnAccountInItOrMalformedIsRefused() {
        #expect(BuildIdentities.collision(in: 65534...65534)?.contains("65534") == true)
        #expect(BuildIdentities.collision(in: 0...0)?.contains("root (uid 0)") == true)
        #expect(BuildIdentities.collision(in: 1_600_000_000...1_600_065_535) == nil)
        #expect(BuildIdentities.parseRange("1500000000-1500065535") == 1_500_000_000...1_500_065_535)
        #expect(BuildIdentities.parseRange("0-10") == nil)
        #expect(BuildIdentities.parseRange("20-10") == nil)
        #expect(BuildIdentities.parseRange("ten") == nil)
    }
}
