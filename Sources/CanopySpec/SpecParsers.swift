// Entry points of CanopySpec. Implementations live in their own files
// (AmplifySpec+Parse.swift, SiteConfig+Parse.swift, Rules+Parse.swift, DNSLabel.swift, …).

/// Parses `amplify.yml` (versions 1, 1.0 and 0.1) into the plan for one application.
public enum AmplifySpec {}

/// Parses Sites files and resolves branches to environments and hostnames.
public enum SitesSpec {}

/// Parses rule files: Amplify `redirects.json`, `customHttp.yml`, Netlify `_redirects`, `_headers` and `netlify.toml`.
public enum RulesSpec {}
