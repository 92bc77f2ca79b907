import CanopyEdge
import CanopySpec
import CanopyStore
import Foundation

extension RulesTestRun {
    /// `canopy rules test DIR`: ingests DIR (the deployed artifacts, with their rule files) into a
    /// temporary store, loads it as the edge would, runs the tests and prints one line per case.
    /// `file` defaults to DIR's `canopy-rules-test.yml`, else the current folder's. Returns whether
    /// every case held. `capabilities`: what the edge evaluates (`--geoip`); no case's request
    /// comes from a country, so a rule with a Country condition does not apply to any.
    public static func local(
        directory: String, file: String?, host: String, capabilities: RuleCapabilities = .basic
    ) -> Bool {
        let fm = FileManager.default
        let name = RulesSpec.rulesTestFileName
        let path =
            file ?? [directory + "/" + name, name].first(where: { fm.fileExists(atPath: $0) }) ?? directory + "/" + name
        var isFolder: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isFolder), isFolder.boolValue else {
            print("\(directory) is not a folder: give the folder that is deployed (the build's artifacts)")
            return false
        }
        let scratch = fm.temporaryDirectory.appendingPathComponent("canopy-rules-test-\(UUID().uuidString)").path
        defer { try? fm.removeItem(atPath: scratch) }
        do {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                print("cannot read \(path): write the tests there, or name the file with --file")
                return false
            }
            let tests = try RulesSpec.readRulesTest(yaml: text, file: path)
            for warning in tests.warnings { print("\(warning)") }
            let findings = RuleFiles.validate(artifactDirectory: directory, capabilities: capabilities)
            for warning in findings.warnings { print("warning: \(warning)") }
            if let problem = findings.problem {
                print(problem)
                return false
            }
            let store = try DeploymentStore(root: scratch + "/store")
            let manifest = try store.ingest(
                directory: directory, id: "local", site: "local", branch: "local",
                commit: String(repeating: "0", count: 40), commitTime: Date())
            let cache = BodyCache(budget: 64 << 20, maxOpenBlobs: 64, lanes: 1)
            let deployment = try ServedDeployment.load(
                manifest: manifest, storeRoot: scratch + "/store", siteRules: SiteRules(), cache: cache,
                capabilities: capabilities)
            let results = try run(tests.rules, against: deployment, host: host)
            for result in results { print(result.line) }
            let failed = results.filter { $0.outcome == .failed }.count
            let unchecked = results.filter { $0.outcome == .notChecked }.count
            print(
                "\(results.count - failed - unchecked) passed, \(failed) failed"
                    + (unchecked > 0 ? ", \(unchecked) not checked (proxy)" : ""))
            return failed == 0
        } catch {
            print("\(error)")
            return false
        }
    }
}
