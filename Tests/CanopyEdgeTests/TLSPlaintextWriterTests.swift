import Foundation
import NIOCore
import NIOEmbedded
import NIOPosix
import Testing

@testable import CanopyEdge

/// Large files over TLS: a file region becomes buffers one chunk at a time, the next read only
/// once the last chunk has been written, so a client that reads slowly (or not at all) costs one
/// chunk of memory, not the whole file.
struct TLSPlaintextWriterTests {
    @Test func aRegionIsReadOneChunkAtATimeAndLaterWritesKeepTheirOrder() throws {
        let chunk = TLSPlaintextWriter.chunk
        let size = chunk * 8 + 123
        let path = NSTemporaryDirectory() + "canopy-region-\(UUID().uuidString)"
        let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let handle = try NIOFileHandle(_deprecatedPath: path)
        defer { try? handle.close() }

        let channel = EmbeddedChannel(handler: TLSPlaintextWriter())
        let loop = channel.embeddedEventLoop
        let regionDone = loop.makePromise(of: Void.self)
        let trailerDone = loop.makePromise(of: Void.self)
        channel.write(
            IOData.fileRegion(FileRegion(fileHandle: handle, readerIndex: 0, endIndex: size)), promise: regionDone)
        channel.write(IOData.byteBuffer(ByteBuffer(string: "after")), promise: trailerDone)
        channel.flush()

        // Before the loop runs again, one chunk is out and nothing else has been read.
        var out: [ByteBuffer] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { out.append(buffer) }
        #expect(out.map(\.readableBytes) == [chunk], "one chunk in flight, not the whole file")

        // Each completed write lets the next chunk go; the write queued behind the region comes last.
        loop.run()
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { out.append(buffer) }
        var received = Data()
        for buffer in out.dropLast() { received.append(contentsOf: buffer.readableBytesView) }
        #expect(received == Data(bytes))
        #expect(out.last.map { String(buffer: $0) } == "after")
        #expect(out.dropLast().allSatisfy { $0.readableBytes <= chunk })
        #expect(throws: Never.self) { try regionDone.futureResult.wait() }
        #expect(throws: Never.self) { try trailerDone.futureResult.wait() }
        _ = try channel.finish()
    }
}
