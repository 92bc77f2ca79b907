import CanopyBuild
import CanopySpec
import CanopyStore
import Foundation

extension Orchestrator {
    // MARK: canopy-rules-test.yml

    /// Reads the checkout's `canopy-rules-test.yml` (nil when it has none); a bad one is the build's
    /// error, with its lines.
    func loadRulesTests(
        source: String, appRoot: String, log: BuildLogWriter
    ) async throws
        -> ParsedRules<RulesTestCase>?
    {
        do {
            let tests = try await blocking.run { try RulesTestRun.load(source: source, appRoot: appRoot) }
            for warning in tests?.warnings ?? [] { await log.append("warning: \(warning)") }
            return tests
        } catch let error as SpecError {
            let file = error.diagnostics.first?.location.file ?? RulesSpec.rulesTestFileName
            throw CanopyError("\(file) is invalid:\n\(error)")
        }
    }

    /// Runs the tests against the ingested deployment before anything routes to it, one log line per
    /// case. When one fails, the deployment is given up (its manifest removed, its blobs left to
    /// garbage collection) and the build's error names each failing case's file:line.
    func runRulesTests(
        _ tests: ParsedRules<RulesTestCase>, manifest: DeploymentManifest, host: String, log: BuildLogWriter
    ) async throws -> String? {
        await log.append("Running \(tests.rules.count) rule tests (\(tests.rules[0].source.file))")
        let results: [RulesTestResult]
        do {
            let deployment = try await servedDeployment(manifest.id)
            results = try await blocking.run { try RulesTestRun.run(tests.rules, against: deployment, host: host) }
        } catch {
            await discardUntested(manifest.id)
            throw error
        }
        for result in results { await log.append(result.line) }
        guard let failure = RulesTestRun.failure(results) else { return nil }
        await discardUntested(manifest.id)
        return failure + "\nThe deployment was not activated: what was live keeps serving."
    }

    private func discardUntested(_ id: String) async {
        await routes.forget([id])
        store.releaseIngest(id)
        try? await blocking.run { [store] in try store.removeManifests([id]) }
    }
}
