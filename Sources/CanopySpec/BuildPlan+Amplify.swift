/// The parts of an amplify.yml that only Amplify's own AWS service can run.
extension BuildPlan {
    /// The first backend command that is Amplify's AWS backend deploy (`amplifyPush`, `amplify push`,
    /// `npx ampx pipeline-deploy` …), with the phase it is in; nil when the backend stage has none.
    /// Those need the Amplify CLI and AWS credentials: on Canopy they would fail with "command not
    /// found" (exit 127) after the rest of the stage ran.
    public var amplifyBackendCommand: (phase: String, command: BuildCommand)? {
        for stage in stages where stage.kind == .backend {
            for phase in stage.phases {
                if let command = phase.commands.first(where: { Self.isAmplifyCLI($0.text) }) {
                    return (phase.name, command)
                }
            }
        }
        return nil
    }

    /// The plan without its backend stage (a Sites file's `skipBackend: true`).
    public var withoutBackend: BuildPlan {
        var plan = self
        plan.stages.removeAll { $0.kind == .backend }
        return plan
    }

    /// `amplifyPush` (the console's helper script), the Gen 1 `amplify` CLI and Gen 2's `ampx`,
    /// run directly or through npx, yarn or pnpm.
    static func isAmplifyCLI(_ command: String) -> Bool {
        var words = command.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        // Variables set for the command (`FOO=1 amplify push`) come first.
        while let first = words.first, first.contains("=") && !first.hasPrefix("-") { words.removeFirst() }
        if let first = words.first, ["npx", "yarn", "pnpm", "pnpx", "bunx"].contains(first) {
            words.removeFirst()
            if words.first == "dlx" || words.first == "exec" { words.removeFirst() }
            while let flag = words.first, flag.hasPrefix("-") { words.removeFirst() }
        }
        guard let tool = words.first else { return false }
        let name =
            tool.split(separator: "@", omittingEmptySubsequences: true).first.map {
                tool.hasPrefix("@") ? "@" + $0 : String($0)
            } ?? tool
        return ["amplifyPush", "amplify", "ampx", "@aws-amplify/cli", "@aws-amplify/backend-cli"].contains(name)
    }
}
