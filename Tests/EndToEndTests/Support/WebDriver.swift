import Foundation

/// A headless Chromium driven through chromedriver's W3C WebDriver protocol, over real HTTP.
final class Browser: @unchecked Sendable {
    // @unchecked: one test drives it from one task.
    private let driver: Process
    private let port: Int
    private var session = ""

    init() async throws {
        port = 9515 + Int.random(in: 0..<400)
        driver = Process()
        driver.executableURL = URL(fileURLWithPath: "/usr/bin/chromedriver")
        driver.arguments = ["--port=\(port)"]
        driver.standardOutput = FileHandle.nullDevice
        driver.standardError = FileHandle.nullDevice
        try driver.run()
        try await waitUntil("chromedriver to listen", timeout: .seconds(30)) {
            (try? TestHTTP.request(port: self.port, path: "/status", host: "127.0.0.1").status) == 200
        }
        let capabilities: [String: Any] = [
            "capabilities": [
                "alwaysMatch": [
                    "browserName": "chrome",
                    "goog:chromeOptions": [
                        "binary": "/usr/bin/chromium",
                        "args": [
                            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                            "--window-size=1280,1000",
                        ],
                    ],
                ]
            ]
        ]
        let created = try call("POST", "/session", capabilities)
        guard let id = (created["value"] as? [String: Any])?["sessionId"] as? String else {
            throw TestFailure("chromedriver did not start a session: \(created)")
        }
        session = id
    }

    @discardableResult
    private func call(_ method: String, _ path: String, _ body: [String: Any]? = nil) throws -> [String: Any] {
        let data =
            try body.map { try JSONSerialization.data(withJSONObject: $0) }
            ?? (method == "POST" ? Data("{}".utf8) : nil)
        let result = try TestHTTP.request(
            method, port: port, path: path, host: "127.0.0.1", headers: ["Content-Type": "application/json"], body: data
        )
        let json = (try? JSONSerialization.jsonObject(with: result.body) as? [String: Any]) ?? [:]
        if result.status >= 400 {
            throw TestFailure("WebDriver \(method) \(path) → \(result.status): \(result.text.prefix(300))")
        }
        return json
    }

    func open(_ url: String) throws { try call("POST", "/session/\(session)/url", ["url": url]) }

    var source: String {
        get throws { try call("GET", "/session/\(session)/source")["value"] as? String ?? "" }
    }

    func element(_ css: String) throws -> String {
        let value =
            try call("POST", "/session/\(session)/element", ["using": "css selector", "value": css])["value"]
            as? [String: Any]
        guard let id = value?.values.first as? String else { throw TestFailure("no element \(css)") }
        return id
    }

    func type(_ css: String, _ text: String) throws {
        try call("POST", "/session/\(session)/element/\(try element(css))/value", ["text": text])
    }

    func click(_ css: String) throws {
        try call("POST", "/session/\(session)/element/\(try element(css))/click")
    }

    func acceptAlert() throws { try call("POST", "/session/\(session)/alert/accept") }

    /// Saves a PNG screenshot; returns its path.
    @discardableResult
    func screenshot(_ name: String) throws -> String {
        let base64 = try call("GET", "/session/\(session)/screenshot")["value"] as? String ?? ""
        let dir = packageRoot + "/.build/screenshots"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/\(name).png"
        try Data(base64Encoded: base64)?.write(to: URL(fileURLWithPath: path))
        return path
    }

    func quit() {
        _ = try? call("DELETE", "/session/\(session)")
        // chromedriver does not always exit on SIGTERM while its browser shuts down.
        kill(driver.processIdentifier, SIGKILL)
        driver.waitUntilExit()
    }

    static var available: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver") }
}
