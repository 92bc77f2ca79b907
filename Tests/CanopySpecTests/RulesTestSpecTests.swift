import Testing

@testable import CanopySpec

/// `canopy-rules-test.yml`, Canopy's own file (no host has one): requests and what they must get.
@Suite("canopy-rules-test.yml")
struct RulesTestSpecTests {
    @Test("every field of a case is read, with the case's line")
    func readsCases() throws {
        let parsed = try RulesSpec.readRulesTest(
            yaml: """
                # canopy-rules-test.yml
                - request: /old-page
                  status: 301
                  location: /new-page
                - request: /app/settings?tab=2
                  status: 200
                  body_contains: '<div id="root">'
                - request: https://Example.com/fr/
                  method: head
                  request_headers: { Accept-Language: fr }
                  headers: { X-Frame-Options: DENY }
                - request: /secure/page
                  host: www.example.com
                  headers:
                    - key: Cache-Control
                      value: no-cache
                """, file: "canopy-rules-test.yml")
        #expect(parsed.warnings.isEmpty)
        let cases = parsed.rules
        #expect(cases.map(\.path) == ["/old-page", "/app/settings?tab=2", "/fr/", "/secure/page"])
        #expect(cases.map(\.source.line) == [2, 5, 8, 12])
        #expect(cases[0].status == 301 && cases[0].location == "/new-page" && cases[0].method == "GET")
        #expect(cases[1].bodyContains == "<div id=\"root\">")
        #expect(cases[2].host == "example.com" && cases[2].method == "HEAD")
        #expect(cases[2].requestHeaders == [HeaderField(name: "Accept-Language", value: "fr")])
        #expect(cases[2].headers == [HeaderField(name: "X-Frame-Options", value: "DENY")])
        #expect(cases[3].host == "www.example.com")
        #expect(cases[3].headers == [HeaderField(name: "Cache-Control", value: "no-cache")])
    }

    @Test("every bad entry is an error at its line, all of them in one run")
    func errorsCarryLines() throws {
        let failure = try #require(throws: SpecError.self) {
            try RulesSpec.readRulesTest(
                yaml: """
                    - request: /a
                      status: moved
                    - status: 301
                    - request: old-page
                      status: 301
                    - request: /b
                      method: POST
                    - request: /c
                    - request: /d
                      method: HEAD
                      body_contains: x
                    - just a string
                    - request: /e
                      status: 99
                    """, file: "canopy-rules-test.yml")
        }
        let errors = failure.diagnostics
        #expect(errors.allSatisfy { $0.severity == .error && $0.location.file == "canopy-rules-test.yml" })
        #expect(errors.map(\.location.line) == [2, 3, 4, 7, 8, 9, 12, 14], "\(failure)")
        #expect(errors[0].message.contains("status must be a number"))
        #expect(errors[1].message.contains("needs a request"))
        #expect(errors[2].message.contains("starting with /"))
        #expect(errors[3].message.contains("GET or HEAD"))
        #expect(errors[4].message.contains("expects nothing"))
        #expect(errors[5].message.contains("HEAD request has no body"))
        #expect(errors[6].message.contains("mapping"))
        #expect(errors[7].message.contains("100 to 599"))
    }

    @Test("an unknown key is a warning at its line; the case is kept")
    func unknownKeyWarns() throws {
        let parsed = try RulesSpec.readRulesTest(
            yaml: "- request: /a\n  status: 200\n  expect_status: 404\n", file: "canopy-rules-test.yml")
        #expect(parsed.rules.count == 1)
        #expect(parsed.warnings.map(\.location.line) == [3])
        #expect(parsed.warnings[0].severity == .warning && parsed.warnings[0].message.contains("expect_status"))
    }

    @Test("a file that is not a list, or an empty list, is refused")
    func wrongShape() throws {
        let mapping = try #require(throws: SpecError.self) {
            try RulesSpec.readRulesTest(yaml: "tests:\n  - request: /a\n", file: "t.yml")
        }
        #expect(mapping.diagnostics[0].message.contains("must be a list"))
        let empty = try #require(throws: SpecError.self) { try RulesSpec.readRulesTest(yaml: "[]\n", file: "t.yml") }
        #expect(empty.diagnostics[0].message.contains("no tests"))
    }
}
