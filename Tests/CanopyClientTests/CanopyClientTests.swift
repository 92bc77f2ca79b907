import CanopyAdminAPI
import Foundation
import Testing

@testable import CanopyClient

@Suite struct CanopyClientTests {
    @Test func tablesAlignColumns() {
        var table = TextTable(["A", "LONGER"])
        table.add(["wide value", "x"])
        let lines = table.render().split(separator: "\n")
        #expect(lines[0] == "A            LONGER")
        #expect(lines[1] == "wide value   x")
    }

    @Test func anErrorAnswerBecomesItsMessageAndExitCode() {
        let body = Data(#"{"error": "no site blog"}"#.utf8)
        #expect(throws: CLIError.self) { try CLI.check(AdminClient.Response(status: 404, body: body)) }
        do {
            try CLI.check(AdminClient.Response(status: 401, body: Data(#"{"error": "bad token"}"#.utf8)))
        } catch let error as CLIError {
            #expect(error.code == 2)
            #expect(error.message == "error: bad token")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func theAdminAddressAndTokenComeFromTheDataFolder() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("client-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "http://127.0.0.1:9999\n".write(
            toFile: folder + "/" + AdminFiles.address, atomically: true, encoding: .utf8)
        try "abc\n".write(toFile: folder + "/" + AdminFiles.token, atomically: true, encoding: .utf8)
        let client = AdminClient.resolve(admin: nil, data: folder, environment: [:])
        #expect(client.baseURL == "http://127.0.0.1:9999")
        #expect(client.token == "abc")
    }

    @Test func aBuildsEscapeSequencesArePrintedNotObeyed() {
        var text = TerminalText()
        // ESC ] 0 ; (set the window title), then a C1 CSI split across two chunks.
        var out = text.escape(Data([0x1B, 0x5D, 0x30, 0x3B, 0x41, 0xC2]))
        out += text.escape(Data([0x9B, 0x0A]))
        out += text.finish()
        #expect(String(decoding: out, as: UTF8.self) == "\\x1b]0;A\\xc2\\x9b\n")
    }
}
