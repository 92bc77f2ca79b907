extension AmplifySpec {
    /// One entry of a monorepo spec's `applications:`.
    struct Application {
        /// Its appRoot, normalised ("" for the repository root).
        let root: String
        let value: YAMLValue
        let sections: Sections
    }

    /// The sections to build: the spec's own, or those of the application `appRoot` picks from
    /// `applications:` (the only one when there is one). Sets the plan's appRoot; an application's
    /// env is merged over the top level's.
    static func application(
        of sections: Sections, appRoot: String?, plan: inout BuildPlan, variables: inout [String: String],
        _ findings: inout DiagnosticCollector
    ) throws -> Sections {
        guard let (location, applications) = sections["applications"] else {
            if let wanted = appRoot.map(normalise), !wanted.isEmpty { plan.appRoot = wanted }
            return sections
        }
        var apps: [Application] = []
        for item in try applications.items("applications") {
            if let app = try application(item, variables: &variables, &findings) { apps.append(app) }
        }
        guard !apps.isEmpty else {
            throw SpecError(at: location, "applications lists no application (each needs an appRoot and a frontend)")
        }
        let chosen = try choose(from: apps, appRoot: appRoot, at: location)
        plan.appRoot = chosen.root
        let app = chosen.sections
        if app["frontend"] == nil && app["backend"] == nil && app["test"] == nil {
            findings.warn(
                chosen.value.location, "application '\(chosen.root)' has no frontend, backend or test section")
        }
        return app
    }

    /// One item of `applications:`; nil (with a warning) for an item that is not an application.
    static func application(
        _ item: YAMLValue, variables: inout [String: String], _ findings: inout DiagnosticCollector
    ) throws -> Application? {
        var found: Sections = [:]
        var itemRoot = ""
        let keys = try item.mapping("an application")
        // A stray item (`- rewrites:` under applications, a frontend indented one level too
        // far) is not a second application: said so at its line, and left out of the count.
        if !keys.contains(where: { ["appRoot", "frontend", "backend", "test"].contains($0.key) }) {
            findings.warn(
                item.location,
                "this item of applications is not an application (no appRoot, frontend, backend or test; it has "
                    + "\(keys.map { "'\($0.key)'" }.joined(separator: ", "))); it is ignored: check its indentation"
            )
            return nil
        }
        for entry in keys {
            switch entry.key {
            case "appRoot": itemRoot = normalise(try entry.value.string("appRoot"))
            case "frontend", "backend", "test", "customHeaders":
                found[entry.key] = (entry.keyLocation, entry.value)
            case "env":
                findings.attempt { findings in
                    variables.merge(try parseEnv(entry.value, &findings)) { _, app in app }
                }
            default: findings.warn(entry.keyLocation, "unknown key '\(entry.key)' in an application is ignored")
            }
        }
        return Application(root: itemRoot, value: item, sections: found)
    }

    /// The application `appRoot` names, or the only one; an error naming the choices otherwise.
    static func choose(from apps: [Application], appRoot: String?, at location: SourceLocation) throws -> Application {
        let roots = apps.map { $0.root.isEmpty ? "(none)" : $0.root }.joined(separator: ", ")
        if let wanted = appRoot.map(normalise) {
            guard let match = apps.first(where: { $0.root == wanted }) else {
                throw SpecError(at: location, "no application has appRoot '\(wanted)'; this amplify.yml has: \(roots)")
            }
            return match
        }
        guard apps.count == 1 else {
            throw SpecError(
                at: location,
                "this amplify.yml has \(apps.count) applications (\(roots)): set appRoot in the Sites file to choose "
                    + "one (or check one with `canopy validate --app-root DIR`)")
        }
        return apps[0]
    }
}
