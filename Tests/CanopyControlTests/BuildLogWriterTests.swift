import CanopyTestSupport
import Foundation
import Testing

@testable import CanopyControl

/// The build log has one writer: the control plane's lines are appended in the order they were
/// written and reach observers in that order, however many there are (one task per line, as
/// before, let them overtake each other).
struct BuildLogWriterTests {
    @Test func manyLinesArriveInOrderInTheFileAndTheStream() async throws {
        let folder = try TempFolder("log-order")
        let blocking = BlockingExecutor(threads: 4)
        let path = folder.path + "/build.log"
        try "Canopy build b-1\n".write(toFile: path, atomically: true, encoding: .utf8)
        let (writer, lines) = try await BuildLogWriter.open(path: path, secrets: ["hunter2"], blocking: blocking)
        let runnerLine = writer.onLog
        let count = 2000
        for i in 0..<count {
            if i % 2 == 0 { await writer.append("line \(i)") } else { runnerLine("line \(i)") }
        }
        writer.close()
        var seen: [String] = []
        for await line in lines { seen.append(line) }
        let numbers = seen.compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }
        #expect(numbers == Array(0..<count))

        // The file: the first line survives, then the control plane's own lines, in order.
        let written = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(written.first == "Canopy build b-1")
        let fileNumbers = written.dropFirst().compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }
        #expect(fileNumbers == Array(stride(from: 0, to: count, by: 2)))
        try await blocking.shutdown()
    }
}
