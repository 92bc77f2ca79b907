import Foundation
import Testing
import Yams

@testable import CanopyControl

/// The OpenAPI document and the router describe the same API.
struct OpenAPITests {
    static let documentPath: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/"
            && !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path)
        {
            url.deleteLastPathComponent()
        }
        return url.appendingPathComponent("Sources/CanopyControl/Admin/openapi.yaml").path
    }()

    /// `METHOD /path/{param}` for every operation in the document.
    static func documented() throws -> Set<String> {
        let text = try String(contentsOfFile: documentPath, encoding: .utf8)
        let root = try #require(try Yams.load(yaml: text) as? [String: Any])
        #expect(root["openapi"] as? String == "3.0.3")
        let paths = try #require(root["paths"] as? [String: Any])
        var operations = Set<String>()
        for (path, item) in paths {
            for method in ((item as? [String: Any]) ?? [:]).keys
            where ["get", "post", "delete", "put", "patch"].contains(method) {
                operations.insert("\(method.uppercased()) \(path)")
            }
        }
        return operations
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedRouteIsRouted() throws {
        var routed = Set(AdminAPI.routes.map { "\($0.method.rawValue) \($0.template)" })
        // Served outside the table: the dashboard's pages and forms, sign-in and incoming webhooks.
        routed.formUnion([
            "GET /", "GET /builds/{id}", "POST /ui/{action}", "POST /login", "POST /logout", "POST /hooks/{site}",
        ])
        let documented = try Self.documented()
        #expect(
            routed.subtracting(documented).isEmpty,
            "routed but not documented: \(routed.subtracting(documented).sorted())")
        #expect(
            documented.subtracting(routed).isEmpty,
            "documented but not routed: \(documented.subtracting(routed).sorted())")
    }

    @Test func everyReferenceResolves() throws {
        let text = try String(contentsOfFile: Self.documentPath, encoding: .utf8)
        let root = try #require(try Yams.load(yaml: text) as? [String: Any])
        let components = try #require(root["components"] as? [String: [String: Any]])
        for match in text.matches(of: /\$ref: "#\/components\/([a-zA-Z]+)\/([a-zA-Z]+)"/) {
            let section = String(match.output.1)
            let name = String(match.output.2)
            #expect(components[section]?[name] != nil, "unresolved $ref \(section)/\(name)")
        }
    }
}
