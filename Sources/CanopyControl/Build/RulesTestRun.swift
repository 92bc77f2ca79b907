import CanopyEdge
import CanopySpec
import Foundation

/// One case of `canopy-rules-test.yml`, run: its line for the log, and whether it held.
public struct RulesTestResult: Sendable, Hashable {
    public enum Outcome: Sendable, Hashable {
        case passed
        case failed
        /// A proxy rule answers: Canopy does not fetch the upstream to test it.
        case notChecked
    }

    public var outcome: Outcome
    /// `✓ /old-page → 301 /new-page`, `✗ /old-page: expected 301 Location /new-page, got 200`.
    public var line: String
    /// A failure as `file:line:column: error: …`.
    public var diagnostic: SpecDiagnostic?
}

/// Runs `canopy-rules-test.yml` against a loaded deployment, in process (see `RuleProbe`).
public enum RulesTestRun {
    /// The tests of a checkout: `canopy-rules-test.yml` in the application root, else the repository
    /// root (where `customHttp.yml` is looked for); nil when there is none. Blocking.
    static func load(source: String, appRoot: String) throws -> ParsedRules<RulesTestCase>? {
        let name = RulesSpec.rulesTestFileName
        guard let path = RuleFiles.origin(of: name, source: source, appRoot: appRoot) else { return nil }
        if RuleFiles.isSymbolicLink(path) { throw CanopyError(RuleFiles.linkRefusal(name)) }
        let shown = path == source + "/" + name ? name : appRoot + "/" + name
        return try RulesSpec.readRulesTest(yaml: try String(contentsOfFile: path, encoding: .utf8), file: shown)
    }

    /// Every case's result, in file order. Blocking (bodies are read from the store).
    public static func run(
        _ cases: [RulesTestCase], against deployment: ServedDeployment, host: String
    ) throws
        -> [RulesTestResult]
    {
        let probe = RuleProbe(deployment)
        return cases.map { test in
            let answer = probe.answer(
                RuleProbeRequest(
                    method: test.method, target: test.path, host: test.host ?? host, headers: test.requestHeaders))
            return check(test, answer)
        }
    }

    /// The build's error when a case failed: how many, and each failure with its file:line.
    public static func failure(_ results: [RulesTestResult]) -> String? {
        let failed = results.compactMap(\.diagnostic)
        guard !failed.isEmpty else { return nil }
        let file = failed[0].location.file
        return "\(file): \(failed.count) of \(results.count) rule tests failed:\n"
            + failed.map(\.description).joined(separator: "\n")
    }

    static func check(_ test: RulesTestCase, _ answer: RuleProbeResponse) -> RulesTestResult {
        if let upstream = answer.proxy {
            return RulesTestResult(outcome: .notChecked, line: "- \(test.path): not checked (proxy to \(upstream))")
        }
        var expected: [String] = []
        var got = ["\(answer.status)"]
        var ok = true
        if let status = test.status {
            expected.append("\(status)")
            ok = ok && status == answer.status
        }
        if let location = test.location {
            let actual = answer.header("Location")
            expected.append("Location \(location)")
            if let actual { got.append("Location \(actual)") }
            ok = ok && (actual == location || actual?.removingPercentEncoding == location)
        }
        for field in test.headers {
            let actual = answer.header(field.name)
            expected.append("\(field.name): \(field.value)")
            got.append(actual.map { "\(field.name): \($0)" } ?? "no \(field.name)")
            ok = ok && actual == field.value
        }
        if let text = test.bodyContains {
            let found = String(decoding: answer.body, as: UTF8.self).contains(text)
            expected.append("a body containing '\(text)'")
            got.append(found ? "a body containing it" : "a body without it (\(answer.body.count) bytes)")
            ok = ok && found
        }
        if ok {
            var summary = "\(answer.status)"
            if let location = answer.header("Location") { summary += " \(location)" }
            for field in test.headers { summary += ", \(field.name): \(field.value)" }
            if let text = test.bodyContains { summary += ", body contains '\(text)'" }
            return RulesTestResult(outcome: .passed, line: "✓ \(test.path) → \(summary)")
        }
        // `301 Location /new`: a status and its Location read as one answer.
        func describe(_ parts: [String], status: Bool) -> String {
            guard status, parts.count > 1, parts[1].hasPrefix("Location ") else { return parts.joined(separator: ", ") }
            return parts[0] + " " + parts.dropFirst().joined(separator: ", ")
        }
        let message =
            "\(test.path): expected \(describe(expected, status: test.status != nil)), got \(describe(got, status: true))"
        return RulesTestResult(
            outcome: .failed, line: "✗ \(message)  (\(test.source.file):\(test.source.line))",
            diagnostic: SpecDiagnostic(.error, at: test.source, message))
    }
}
