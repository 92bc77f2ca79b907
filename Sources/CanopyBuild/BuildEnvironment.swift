import Foundation

/// The clean environment of a build's processes: nothing is inherited from the server except PATH.
enum BuildEnvironment {
    static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// Lowest to highest precedence: defaults, amplify.yml `env.variables`, the Sites file, then the
    /// AWS_*/CANOPY_* build facts (which a user cannot override).
    static func make(for request: BuildRequest, home: String) -> [String: String] {
        var path = defaultPath
        if let serverPath = ProcessInfo.processInfo.environment["PATH"], !serverPath.isEmpty {
            let known = Set(defaultPath.split(separator: ":"))
            let extra = serverPath.split(separator: ":").filter { !known.contains($0) }
            if !extra.isEmpty { path += ":" + extra.joined(separator: ":") }
        }
        // Global installs (`npm install -g`, `pip install` as the build user) go into the build's
        // own prefix, first on PATH: never into the server's /usr, and never refused for lack of it.
        let prefix = BuildTools.prefix(home: home)
        var environment: [String: String] = [
            "PATH": prefix + "/bin:" + path, "HOME": home, "LANG": "C.UTF-8", "CI": "true", "TERM": "dumb",
            "NPM_CONFIG_PREFIX": prefix, "PYTHONUSERBASE": prefix,
        ]
        // A build user cannot write the system's site-packages, so pip installs into PYTHONUSERBASE;
        // Debian's PEP 668 marker would refuse even that without this. Root's builds keep the refusal,
        // which is what protects the server's own Python.
        if request.runAs != nil { environment["PIP_BREAK_SYSTEM_PACKAGES"] = "1" }
        let facts = self.facts(for: request)
        // `env.variables` values expand `$VAR` and `${VAR}` as the shell would, from the defaults,
        // the Sites file's variables and the build facts.
        let context = environment.merging(request.environment) { _, new in new }.merging(facts) { _, new in new }
        environment.merge(request.plan.variables.mapValues { ShellExpansion.expand($0, in: context) }) { _, new in new }
        environment.merge(request.environment) { _, new in new }
        environment.merge(facts) { _, new in new }
        return environment
    }

    /// What the build is: AWS_* as Amplify names them, CANOPY_* as Canopy does, and where the
    /// branch is served (`CANOPY_URL`, `CANOPY_HOSTNAMES`) so a site can set its base URL.
    static func facts(for request: BuildRequest) -> [String: String] {
        var facts = [
            "AWS_APP_ID": request.site,
            "AWS_BRANCH": request.branch,
            "AWS_BRANCH_ARN": "arn:canopy:local:\(request.site):branches/\(request.branch)",
            "AWS_COMMIT_ID": request.commit,
            "AWS_JOB_ID": request.buildID,
            "AWS_CLONE_URL": request.cloneURL,
            "CANOPY_SITE": request.site,
            "CANOPY_BRANCH": request.branch,
            "CANOPY_COMMIT": request.commit,
            "CANOPY_BUILD_ID": request.buildID,
            "CANOPY_CLONE_URL": request.cloneURL,
        ]
        if !request.hostnames.isEmpty {
            facts["CANOPY_HOSTNAMES"] = request.hostnames.joined(separator: " ")
            facts["CANOPY_URL"] = request.url ?? "http://" + request.hostnames[0]
        }
        return facts
    }
}
