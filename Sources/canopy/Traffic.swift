import ArgumentParser
import CanopyAdminAPI
import CanopyClient
import Foundation

struct Split: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Weighted blue/green for a hostname, sticky per visitor.",
        discussion: """
            Targets are branches of the hostname's site (they follow the branch's newest deployment) or
            deployment ids (pinned). Weights are relative: main=90 release=10.
            A visitor gets a canopy-split cookie and keeps its version while the weights keep its slice.
            Force a target for testing with the X-Canopy-Target request header or ?canopy-target=NAME.
            """)

    @Argument(help: "The hostname.") var hostname: String
    @Argument(help: "NAME=WEIGHT targets.") var targets: [String] = []
    @Flag(help: "Remove the split: the hostname serves its own branch again.") var clear = false
    @OptionGroup var adminOptions: AdminOptions

    func run() async throws {
        let client = adminOptions.client
        if clear {
            _ = try client.send("DELETE", "/api/v1/hostnames/\(encodePath(hostname))/split")
            print("\(hostname) serves its own branch again")
            return
        }
        guard !targets.isEmpty else { throw ValidationError("give NAME=WEIGHT targets, or --clear") }
        var list: [SplitRequest.Target] = []
        for pair in targets {
            guard let eq = pair.lastIndex(of: "="), let weight = Double(pair[pair.index(after: eq)...]) else {
                throw ValidationError("targets are NAME=WEIGHT (e.g. main=90), not '\(pair)'")
            }
            list.append(SplitRequest.Target(target: String(pair[..<eq]), weight: weight))
        }
        let response = try client.send(
            "POST", "/api/v1/hostnames/\(encodePath(hostname))/split", SplitRequest(targets: list))
        let applied = try CLI.decode([HostnameStatus.Target].self, response)
        var table = TextTable(["TARGET", "WEIGHT", "DEPLOYMENT", "COMMIT"])
        for t in applied {
            table.add([t.label, "\(Int((t.weight * 100).rounded()))%", t.deployment, String(t.commit.prefix(7))])
        }
        print(table.render())
    }
}

struct Swap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Exchange what two hostnames (or two branches' hostname sets, as SITE/BRANCH) serve, atomically.",
        discussion: "Swapping again swaps back.")

    @Argument var first: String
    @Argument var second: String
    @OptionGroup var adminOptions: AdminOptions

    func run() async throws {
        let response = try adminOptions.client.send("POST", "/api/v1/swap", SwapRequest(a: first, b: second))
        let result = try CLI.decode(ActionResult.self, response)
        print("Swapped \(first) and \(second) in \(String(format: "%.2f", result.milliseconds)) ms")
    }
}

struct Rollback: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Point a hostname's branch (or SITE/BRANCH) back at an earlier deployment, at once.",
        discussion: "The branch is pinned afterwards so that the next push does not undo it: `canopy unpin` resumes.")

    @Argument var target: String
    @Option(help: "The deployment to go back to (default: the previous one).") var to: String?
    @OptionGroup var adminOptions: AdminOptions

    func run() async throws {
        let response = try adminOptions.client.send("POST", "/api/v1/rollback", TargetRequest(target: target, to: to))
        let result = try CLI.decode(ActionResult.self, response)
        print(
            "\(target) now serves \(result.detail) (applied in \(String(format: "%.2f", result.milliseconds)) ms); pinned until `canopy unpin \(target)`"
        )
    }
}

struct Pin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop a branch's new builds from going live (lock deploys).")
    @Argument var target: String
    @OptionGroup var adminOptions: AdminOptions

    func run() async throws {
        _ = try adminOptions.client.send("POST", "/api/v1/pin", TargetRequest(target: target))
        print("\(target) is pinned: new builds are kept but not activated")
    }
}

struct Unpin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Let a branch's builds go live again (its newest deployment goes live now).",
        discussion:
            "Unpinning is also a deploy: if the branch serves an older deployment (after `canopy rollback`), its newest one takes all its traffic at once."
    )
    @Argument var target: String
    @OptionGroup var adminOptions: AdminOptions

    func run() async throws {
        // Said before it happens: unpinning after a rollback puts the newest build back live.
        print(
            "Unpinning \(target): its newest deployment goes live now if it is not already, and new builds go live again"
        )
        let response = try adminOptions.client.send("POST", "/api/v1/unpin", TargetRequest(target: target))
        let env = try CLI.decode(EnvironmentRecord.self, response)
        print("\(env.site)/\(env.branch) is unpinned and serves \(env.activeDeployment ?? "nothing yet")")
    }
}

struct Rollout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show or steer a progressive rollout: status, pause, resume, promote, abort.")

    @Argument(help: "status, pause, resume, promote or abort.") var action: String
    @Argument(help: "A hostname or SITE/BRANCH.") var target: String
    @OptionGroup var adminOptions: AdminOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        guard RolloutRequest.actions.contains(action) else {
            throw ValidationError("the action is one of \(RolloutRequest.actions.joined(separator: ", "))")
        }
        let response = try adminOptions.client.send(
            "POST", "/api/v1/rollout", RolloutRequest(target: target, action: action))
        if output.json {
            print(response.text, terminator: "")
            return
        }
        let r = try CLI.decode(RolloutRecord.self, response)
        var table = TextTable(["BRANCH", "FROM", "TO", "STRATEGY", "SHARE", "STATUS", "NOTE"])
        table.add([
            "\(r.site)/\(r.branch)", r.fromDeployment ?? "-", r.toDeployment, r.strategy, "\(r.percent)%",
            r.status.rawValue,
            r.message ?? "",
        ])
        print(table.render())
    }
}
