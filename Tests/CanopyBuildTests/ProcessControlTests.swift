import CanopyBuild
import CanopySpec
import Foundation
import Logging
import Synchronization
import Testing

@Suite struct ProcessControlTests {
    @Test func timeoutKillsTheWholeGroupIncludingABackgroundGrandchild() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let pidFile = fixture.folder + "/grandchild.pid"
        let plan = frontendPlan(["sleep 1000 & echo $! > '\(pidFile)'", "sleep 1000"])
        // The timeout counts from the build's start (checkout, cache); under a loaded machine 8 s
        // could pass before the first command wrote its pid, and a run of the suite beside two
        // builds once took more than 20 s to get there.
        let result = await fixture.run(fixture.request(plan, timeout: .seconds(45)))
        guard case .timedOut = result.status else {
            Issue.record("expected timedOut, got \(result.status)")
            return
        }
        let pid = try #require(Int32(fixture.read(pidFile)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
        #expect(await eventually(seconds: 30) { processIsGone(pid) })
        #expect(fixture.log.contains("## Build timed out"))
    }

    @Test func backgroundProcessesDoNotOutliveASuccessfulStage() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let pidFile = fixture.folder + "/bg.pid"
        let plan = frontendPlan(["mkdir -p dist", "sleep 1000 & echo $! > '\(pidFile)'", "echo done"])
        let result = await fixture.run(fixture.request(plan))
        #expect(result.succeeded, "\(String(describing: result.failure))")
        let pid = try #require(Int32(fixture.read(pidFile)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
        #expect(await eventually(seconds: 30) { processIsGone(pid) })
    }

    @Test func cancellingTheTaskStopsTheBuild() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let plan = frontendPlan(["echo started-long-step", "sleep 1000", "mkdir -p dist"])
        let request = fixture.request(plan)
        let task = Task { await fixture.run(request) }
        #expect(await eventually { fixture.log.contains("started-long-step") })
        task.cancel()
        let result = await task.value
        guard case .cancelled = result.status else {
            Issue.record("expected cancelled, got \(result.status)")
            return
        }
        #expect(fixture.artifactFiles().isEmpty)
        #expect(fixture.log.contains("## Build cancelled"))
    }

    @Test func logStreamsWhileTheBuildRuns() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let gate = fixture.folder + "/gate"
        let plan = frontendPlan([
            "echo first-line-visible", "while [ ! -f '\(gate)' ]; do sleep 0.1; done", "mkdir -p dist",
        ])
        let request = fixture.request(plan)
        let lines = LineCollector()
        let task = Task {
            await BuildRunner(scratchRoot: fixture.folder).run(
                request, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                onLog: { lines.add($0) })
        }
        // The build cannot finish before the gate exists, so these lines were read mid-build.
        #expect(await eventually { fixture.log.contains("first-line-visible") })
        #expect(lines.all.contains("first-line-visible"))
        #expect(!fixture.log.contains("## Build succeeded"))
        _ = FileManager.default.createFile(atPath: gate, contents: Data())
        let result = await task.value
        #expect(result.succeeded)
        #expect(fixture.log.contains("## Build succeeded"))
    }

    @Test func secretsAreMaskedInTheLog() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let plan = frontendPlan(["mkdir -p dist", "echo \"token is $API_TOKEN\"", "echo hunter2-literal"])
        var request = fixture.request(plan)
        request.environment = ["API_TOKEN": "s3cr3t-value"]
        request.secrets = ["s3cr3t-value", "hunter2"]
        let lines = LineCollector()
        let result = await BuildRunner(scratchRoot: fixture.folder).run(
            request, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            onLog: { lines.add($0) })
        #expect(result.succeeded)
        let log = fixture.log
        #expect(log.contains("token is ***"))
        #expect(log.contains("***-literal"))
        #expect(!log.contains("s3cr3t-value"))
        #expect(!log.contains("hunter2"))
        #expect(!lines.all.contains { $0.contains("hunter2") })
    }

    @Test func outputBeyondTheLimitFailsTheBuild() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let plan = frontendPlan([
            "mkdir -p dist", "yes 'a rather noisy line of output' | head -c 2000000", "touch dist/x",
        ])
        var request = fixture.request(plan)
        request.maxLogBytes = 100_000
        let result = await fixture.run(request)
        let failure = try #require(result.failure)
        #expect(failure.message.contains("more than 100000 bytes of output"))
        #expect(fixture.artifactFiles().isEmpty)
        let size = (try? FileManager.default.attributesOfItem(atPath: fixture.logFile)[.size] as? Int) ?? 0
        #expect(size < 300_000)
    }

    /// A build starts with standard input, output and error only: none of the server's descriptors
    /// (listening sockets, connections, database and store files; libraries open many without
    /// close-on-exec) reach it.
    @Test func aBuildInheritsNoDescriptorOfTheServer() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let fd = open("/dev/null", O_RDONLY)  // without O_CLOEXEC
        defer { close(fd) }
        #expect(fd > 2)
        let result = await fixture.run(
            fixture.request(frontendPlan(["mkdir -p dist && ls /proc/$$/fd > dist/fds.txt"])))
        #expect(result.succeeded, "\(String(describing: result.failure))")
        let listed = (fixture.read(fixture.artifacts + "/fds.txt") ?? "").split(separator: "\n").compactMap {
            Int32($0)
        }
        #expect(listed.contains(0) && listed.contains(1) && listed.contains(2))
        #expect(!listed.contains(fd))
        #expect(listed.allSatisfy { $0 <= 2 || $0 == 255 }, "the stage shell holds \(listed)")
    }

    /// `setsid` takes a process out of the stage's process group, out of reach of the group kill; it
    /// is found by the build id in its environment and stopped with the stage.
    @Test func aProcessThatLeftTheProcessGroupIsStoppedWithTheStage() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let plan = frontendPlan([
            "mkdir -p dist && echo ok > dist/index.html",
            // The pid file is written after setsid(), so the stage ends only once the sleeper has left.
            "setsid bash -c 'echo $$ > \(fixture.folder)/escaped.pid; exec sleep 300' > /dev/null 2>&1 &",
            "while [ ! -s \(fixture.folder)/escaped.pid ]; do sleep 0.05; done",
        ])
        let result = await fixture.run(fixture.request(plan))
        #expect(result.succeeded, "\(String(describing: result.failure))")
        let written = try #require(fixture.read(fixture.folder + "/escaped.pid"))
        let pid = try #require(Int32(written.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(await eventually(seconds: 10) { processIsGone(pid) })
        #expect(fixture.log.contains("Stopped 1 processes the stage left running"))
    }
}

/// Collects log lines delivered on other threads.
final class LineCollector: Sendable {
    private let lines = Mutex<[String]>([])
    func add(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}
