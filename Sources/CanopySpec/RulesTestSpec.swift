/// One case of `canopy-rules-test.yml`: a request, and what the deployment must answer to it.
/// Canopy's own file (no host has one): the build runs every case against a new deployment before
/// it goes live, and `canopy rules test` runs them against a folder.
public struct RulesTestCase: Sendable, Hashable {
    /// The path and query asked for (`/old-page?x=1`), always starting with `/`.
    public var path: String
    /// The Host asked for; nil: the branch's first hostname (in a build), `localhost` locally.
    public var host: String?
    /// `GET` or `HEAD`.
    public var method: String
    public var requestHeaders: [HeaderField]
    /// Expectations: the status, the exact `Location`, response headers with these exact values,
    /// text the body must contain. A case has at least one.
    public var status: Int?
    public var location: String?
    public var headers: [HeaderField]
    public var bodyContains: String?
    /// Where the case is written (its `- request:` item).
    public var source: SourceLocation

    public init(
        path: String, host: String? = nil, method: String = "GET", requestHeaders: [HeaderField] = [],
        status: Int? = nil, location: String? = nil, headers: [HeaderField] = [], bodyContains: String? = nil,
        source: SourceLocation
    ) {
        self.path = path
        self.host = host
        self.method = method
        self.requestHeaders = requestHeaders
        self.status = status
        self.location = location
        self.headers = headers
        self.bodyContains = bodyContains
        self.source = source
    }
}

extension RulesSpec {
    /// The rules-test file's name, looked for next to `customHttp.yml` (the application root, then
    /// the repository root).
    public static let rulesTestFileName = "canopy-rules-test.yml"

    /// Reads `canopy-rules-test.yml`: a list of cases,
    ///
    ///     - request: /old-page          # path and query; or a full URL (http://host/path)
    ///       host: example.com           # optional
    ///       method: HEAD                # optional: GET (default) or HEAD
    ///       request_headers: { Accept-Language: fr }
    ///       status: 301
    ///       location: /new-page         # the exact Location
    ///       headers: { X-Frame-Options: DENY }
    ///       body_contains: '<div id="root">'
    ///
    /// Every bad entry is an error at its line; unknown keys are warnings.
    public static func readRulesTest(yaml: String, file: String) throws -> ParsedRules<RulesTestCase> {
        let root = try YAMLValue.parse(yaml, file: file)
        guard case .sequence = root.node else {
            throw root.error("\(file) must be a list of tests (- request: /path), not \(root.kind)")
        }
        var findings = DiagnosticCollector()
        var cases: [RulesTestCase] = []
        for item in try root.items(file) {
            findings.attempt { findings in
                if let test = try rulesTestCase(item, findings: &findings) { cases.append(test) }
            }
        }
        try findings.throwIfErrors()
        if cases.isEmpty { throw root.error("\(file) has no tests: list at least one (- request: /path)") }
        return ParsedRules(rules: cases, warnings: findings.warnings)
    }

    private static func rulesTestCase(_ item: YAMLValue, findings: inout DiagnosticCollector) throws -> RulesTestCase? {
        var test = RulesTestCase(path: "", source: item.location)
        var request: String?
        var ok = true
        /// Records a field's error and goes on, so that one run shows every bad field.
        func field(_ body: () throws -> Void) {
            do { try body() } catch let error as SpecError {
                findings.diagnostics += error.diagnostics
                ok = false
            } catch {}
        }
        for entry in try item.mapping("a test") {
            let value = entry.value
            switch entry.key {
            case "request": field { request = try value.string("request") }
            case "host": field { test.host = try value.string("host").lowercased() }
            case "method":
                field {
                    let method = try value.string("method").uppercased()
                    guard method == "GET" || method == "HEAD" else {
                        throw value.error("method must be GET or HEAD (what a static host answers), not '\(method)'")
                    }
                    test.method = method
                }
            case "request_headers": field { test.requestHeaders = try headerFields(value, "request_headers") }
            case "status":
                field {
                    guard let code = Int(try value.string("status")), (100...599).contains(code) else {
                        throw value.error("status must be a number from 100 to 599 (e.g. 301)")
                    }
                    test.status = code
                }
            case "location": field { test.location = try value.string("location") }
            case "headers": field { test.headers = try headerFields(value, "headers") }
            case "body_contains":
                field {
                    let text = try value.string("body_contains")
                    guard !text.isEmpty else { throw value.error("body_contains must not be empty") }
                    test.bodyContains = text
                }
            default:
                findings.warn(
                    entry.keyLocation,
                    "unknown key '\(entry.key)' in a test is ignored (request, host, method, request_headers, status, location, headers, body_contains)"
                )
            }
        }
        guard ok else { return nil }
        guard let request, !request.isEmpty else {
            throw item.error("a test needs a request: the path to ask for (request: /old-page)")
        }
        try splitRequest(request, into: &test, at: item)
        if test.status == nil && test.location == nil && test.headers.isEmpty && test.bodyContains == nil {
            throw item.error(
                "the test of \(request) expects nothing: give a status, location, headers or body_contains")
        }
        if test.method == "HEAD" && test.bodyContains != nil {
            throw item.error("a HEAD request has no body: body_contains needs method GET")
        }
        return test
    }

    /// `/path?query`, or `http(s)://host/path?query` (the host becomes the test's Host).
    private static func splitRequest(_ request: String, into test: inout RulesTestCase, at item: YAMLValue) throws {
        var rest = Substring(request)
        for scheme in ["https://", "http://"] where rest.lowercased().hasPrefix(scheme) {
            rest = rest.dropFirst(scheme.count)
            let slash = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
            let host = rest[..<slash].lowercased()
            guard !host.isEmpty else { throw item.error("the request URL \(request) has no host") }
            if test.host == nil { test.host = host }
            rest = rest[slash...]
            if !rest.hasPrefix("/") { rest = "/" + rest }
        }
        guard rest.hasPrefix("/") else {
            throw item.error("a request is a path starting with / (or an http:// URL), not '\(request)'")
        }
        guard !rest.contains(where: { $0 == " " || $0.isNewline || $0 == "#" }) else {
            throw item.error("the request \(request) has a space or a fragment (#): write the path as sent")
        }
        test.path = String(rest)
    }

    /// `{ Name: value }` (or a list of `- key: Name value: v`, customHttp.yml's form).
    private static func headerFields(_ value: YAMLValue, _ what: String) throws -> [HeaderField] {
        if case .sequence = value.node {
            return try value.items(what).map { item in
                let map = try item.stringMap("an entry of \(what)")
                guard let key = map["key"], let v = map["value"], map.count == 2 else {
                    throw item.error("an entry of \(what) is key: Name and value: text")
                }
                return HeaderField(name: key, value: v)
            }
        }
        var fields: [HeaderField] = []
        for entry in try value.mapping(what) {
            guard !entry.key.isEmpty, !entry.key.contains(where: { $0 == ":" || $0 == " " }) else {
                throw SpecError(at: entry.keyLocation, "'\(entry.key)' is not a header name")
            }
            fields.append(HeaderField(name: entry.key, value: try entry.value.string("\(what).\(entry.key)")))
        }
        return fields
    }
}
