import CanopySpec
import CanopyStore
import Foundation
import Logging

extension Orchestrator {
    // MARK: Hostname collisions between branches

    /// The other live branch of the site whose hostnames this branch's would take (`Main` and `main`
    /// make one DNS label), with the hostnames they share; nil when there is none.
    func hostnameCollision(
        site: SiteConfig, branch: String, domains: [String], known: [EnvironmentRecord]
    ) -> (branch: String, hostnames: [String])? {
        let mine = Set(domains)
        for other in known where other.branch != branch && other.deletedAt == nil {
            let head = BranchHead(branch: other.branch, commit: other.headCommit ?? "", message: "", time: Date())
            guard
                let config = environmentConfig(
                    site: site, head: other.kind == "pullRequest" ? head.asPullRequest : head)
            else { continue }
            let shared = mine.intersection(config.domains)
            if !shared.isEmpty { return (other.branch, shared.sorted()) }
        }
        return nil
    }

    /// Records, as a failed build of `head`, that its branch collides with another one: it is not
    /// connected (the branch that came first keeps its hostnames) until one of them is renamed.
    func refuseCollision(
        site: SiteConfig, head: BranchHead, with collision: (branch: String, hostnames: [String])
    ) async {
        if let last = try? await state.latestBuild(site: site.name, branch: head.branch, commit: head.commit),
            last.status == .failed
        {
            return
        }
        let message =
            "branches `\(head.branch)` and `\(collision.branch)` of site \(site.name) both become "
            + "\(collision.hostnames.joined(separator: ", ")) (hostnames are lowercase DNS labels): "
            + "`\(collision.branch)` keeps them and `\(head.branch)` is not built; rename one of the branches"
        logger.error(
            "\(message)",
            metadata: ["site": "\(site.name)", "branch": "\(head.branch)", "commit": "\(head.commit.prefix(7))"])
        let now = Date()
        let record = BuildRecord(
            id: Self.newBuildID(), site: site.name, branch: head.branch, commit: head.commit,
            commitMessage: head.message, status: .failed, queuedAt: now, startedAt: now, finishedAt: now,
            error: message, logPath: "")
        try? await state.insertBuild(record)
        emit(.buildFinished(record))
    }
}
