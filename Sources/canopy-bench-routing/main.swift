import CanopyControl
import CanopyEdge
import CanopySpec
import CanopyStore
import CanopyTLS
import Foundation
import Logging
import Synchronization

// The cost of one routing change with many hostnames (issue #13): SITES sites of BRANCHES branches,
// half of them explicit with five domains each and half previews with one, and DEPLOYS live
// deployments per branch with a per-commit hostname (the defaults make 100 × (5 × 5 + 5 × 1 + 10 × 5)
// = 8,000 hostnames). Real SQLite and a real deployment store; the
// edge is one that keeps the tables it is given. Prints the first publish, a publish with nothing
// changed, and a publish after one branch's new deployment, as medians; then the cost of a FILES-file
// deployment (default 100,000: Activation.swift). Scripts/bench-scale.sh runs it last.
//
//   canopy-bench-routing [SITES] [BRANCHES] [DEPLOYS] [FILES]

final class KeepingEdge: EdgeRouting {
    let last = Mutex<RoutingTable?>(nil)
    let bodyCache = BodyCache(budget: 64 << 20, lanes: 1)
    let ruleCapabilities = RuleCapabilities.basic
    func update(_ table: RoutingTable) { last.withLock { $0 = table } }
    func stats(deployment: String) -> DeploymentTrafficStats { DeploymentTrafficStats() }
    func update(certificates: CertificateSet) {}
}

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let siteCount = arguments.count > 0 ? arguments[0] : 100
let branchCount = arguments.count > 1 ? arguments[1] : 10
let deployCount = arguments.count > 2 ? arguments[2] : 5

let root = NSTemporaryDirectory() + "canopy-bench-routing-\(getpid())"
defer { try? FileManager.default.removeItem(atPath: root) }
try FileManager.default.createDirectory(atPath: root + "/src", withIntermediateDirectories: true)
try "<p>page</p>".write(toFile: root + "/src/index.html", atomically: true, encoding: .utf8)
let store = try DeploymentStore(root: root + "/store")
let state = try SQLiteStateStore(path: root + "/state.sqlite")

/// The first half of the branches explicit, with five domains each; the rest previews (`p*`).
func siteFile(_ site: Int) -> String {
    var text = "repository: ../s\(site).git\ncommitDomain: \"{commit}.c.s\(site).test\"\nbranches:\n"
    for branch in 0..<(branchCount + 1) / 2 {
        let names = (0..<5).map { "n\($0).b\(branch).s\(site).test" }
        text += "  \(branchName(branch)): { domains: [\(names.joined(separator: ", "))] }\n"
    }
    text += "previews:\n  - branches: \"p*\"\n    domain: \"{branch}.s\(site).test\"\n"
    return text
}

func branchName(_ branch: Int) -> String { branch < (branchCount + 1) / 2 ? "b\(branch)" : "p\(branch)" }

var sites: [String: SiteConfig] = [:]
let clock = Date(timeIntervalSince1970: 1_700_000_000)
var made = 0
@MainActor func record(site: Int, branch: Int, index: Int) async throws -> String {
    let id = String(format: "d%03d%03d%03d", site, branch, index)
    // Unique in its first seven characters, which per-commit hostnames use.
    let commit = String(format: "%07x", site * 1_000_000 + branch * 1_000 + index) + String(repeating: "0", count: 33)
    let name = branchName(branch)
    _ = try store.ingest(
        directory: root + "/src", id: id, site: "s\(site)", branch: name, commit: commit, commitTime: clock)
    try await state.upsertEnvironment(
        site: "s\(site)", branch: name, kind: name.hasPrefix("p") ? "preview" : "branch", headCommit: commit)
    let deployment = DeploymentRecord(
        id: id, site: "s\(site)", branch: name, commit: commit, commitMessage: "", commitTime: clock,
        createdAt: clock.addingTimeInterval(Double(made)), buildID: "b-\(id)", fileCount: 1, totalBytes: 11)
    made += 1
    _ = try await state.recordDeployment(deployment, activate: true, reason: "bench")
    return id
}

print("==> \(siteCount) sites × \(branchCount) branches × \(deployCount) deployments")
for site in 0..<siteCount {
    sites["s\(site)"] = try SitesSpec.parse(
        siteFile(site), file: "s\(site).yml", siteName: "s\(site)", baseDirectory: root)
    for branch in 0..<branchCount {
        for index in 0..<deployCount { _ = try await record(site: site, branch: branch, index: index) }
    }
}

let blocking = BlockingExecutor(threads: 2)
let edge = KeepingEdge()
let publisher = RoutePublisher(
    state: state, store: store, edge: edge, blocking: blocking,
    logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))

func milliseconds(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

let first = try await milliseconds { _ = try await publisher.publish(sites: sites) }
let hostnames = edge.last.withLock { $0?.routes.count ?? 0 }
var unchanged: [Double] = []
for _ in 0..<5 { unchanged.append(try await milliseconds { _ = try await publisher.publish(sites: sites) }) }
var changed: [Double] = []
for round in 0..<5 {
    let id = try await record(site: round, branch: 0, index: deployCount + round)
    changed.append(try await milliseconds { _ = try await publisher.publish(sites: sites, changed: ["s\(round)"]) })
    let serves = edge.last.withLock { $0?.routes["n0.b0.s\(round).test"]?.targets.first?.deployment.id }
    guard serves == id else { fatalError("n0.b0.s\(round).test serves \(serves ?? "nothing"), not \(id)") }
}

// A weight change: a split of one hostname between two branches (a host policy, read at every publish).
var weighted: [Double] = []
for round in 0..<5 {
    let host = "n1.b0.s\(round).test"
    try await state.setHostPolicies(
        [
            (
                host, "s\(round)",
                [
                    PolicyTarget(kind: .branch, site: "s\(round)", ref: "b0", weight: 90),
                    PolicyTarget(kind: .branch, site: "s\(round)", ref: "b1", weight: 10),
                ]
            )
        ], audit: AuditEntry(actor: "bench", action: "split", target: host, before: nil, after: nil))
    weighted.append(try await milliseconds { _ = try await publisher.publish(sites: sites, changed: []) })
    let split = edge.last.withLock { $0?.routes[host]?.targets.count ?? 0 }
    guard split == 2 else { fatalError("\(host) has \(split) targets, not 2") }
}
try await blocking.shutdown()

print("hostnames routed: \(hostnames)")
print(String(format: "first publish (loads every deployment): %8.1f ms", first))
print(String(format: "publish, nothing changed (median of 5): %8.1f ms", median(unchanged)))
print(String(format: "one new deployment, publish of its site (median of 5): %6.1f ms", median(changed)))
print(String(format: "a weight change (split), publish (median of 5): %6.1f ms", median(weighted)))

let bigFiles = arguments.count > 3 ? arguments[3] : 100_000
for line in try await activationLines(files: bigFiles, root: root) { print(line) }
