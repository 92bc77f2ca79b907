import CanopyBuild
import Foundation

/// The control plane's side of one build's log: its own lines ("Canopy build …", "Checking out …",
/// the result) go through the same `BuildLog` type the runner writes with, appended on the
/// blocking pool, and every line of the log (the runner's too, through `onLog`) reaches observers in
/// the order written, through one stream drained by one task.
struct BuildLogWriter: Sendable {
    let path: String
    private let log: BuildLog
    private let blocking: BlockingExecutor
    private let sink: AsyncStream<String>.Continuation

    /// Opens (appends to) the log at `path`, masking `secrets`. `lines` yields every line written
    /// through this writer or passed to `onLog`, in order, until `close()`.
    static func open(
        path: String, secrets: Set<String>, blocking: BlockingExecutor
    ) async throws -> (
        writer: BuildLogWriter, lines: AsyncStream<String>
    ) {
        let (lines, sink) = AsyncStream<String>.makeStream(bufferingPolicy: .unbounded)
        let log = try await blocking.run {
            try BuildLog(path: path, secrets: secrets, maxBytes: .max, onLog: { sink.yield($0) })
        }
        return (BuildLogWriter(path: path, log: log, blocking: blocking, sink: sink), lines)
    }

    private init(path: String, log: BuildLog, blocking: BlockingExecutor, sink: AsyncStream<String>.Continuation) {
        self.path = path
        self.log = log
        self.blocking = blocking
        self.sink = sink
    }

    /// Appends one of the control plane's lines (timestamped and masked like the runner's).
    func append(_ line: String) async {
        let log = self.log
        try? await blocking.run { log.note(line) }
    }

    /// For the runner: its lines join the same ordered stream.
    var onLog: @Sendable (String) -> Void {
        let sink = self.sink
        return { sink.yield($0) }
    }

    /// No more lines: the stream ends once what was written has been read.
    func close() {
        sink.finish()
    }
}
