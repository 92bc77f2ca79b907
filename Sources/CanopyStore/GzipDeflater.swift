import CZlib
import Foundation

/// One zlib deflate stream in gzip format (level 9), reused across files with `deflateReset`.
///
/// Owns its `z_stream` and frees it in `deinit`. Not thread-safe: one ingest uses one deflater.
final class GzipDeflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private let output: UnsafeMutableRawBufferPointer
    private var needsReset = false

    /// Creates a deflater; `outputCapacity` is the size of the reused output buffer.
    init(outputCapacity: Int = 256 * 1024) throws {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        output = .allocate(byteCount: outputCapacity, alignment: 16)
        // windowBits 15 + 16 selects the gzip wrapper; memLevel 8 is zlib's default.
        let code = deflateInit2_(
            stream, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        if code != Z_OK {
            stream.deinitialize(count: 1)
            stream.deallocate()
            output.deallocate()
            throw DeploymentStoreError.compressionFailed(path: "(zlib init)", code: code)
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        output.deallocate()
    }

    /// Compresses the chunks `input` produces (it calls its argument once per chunk, then returns),
    /// handing each piece of gzip output to `sink`.
    func compress(
        path: String,
        input: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void,
        sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        if needsReset {
            let code = deflateReset(stream)
            if code != Z_OK { throw DeploymentStoreError.compressionFailed(path: path, code: code) }
        }
        needsReset = true
        try withoutActuallyEscaping(sink) { sink in
            try input { chunk in
                try run(chunk, flush: Z_NO_FLUSH, path: path, sink: sink)
            }
        }
        try run(UnsafeRawBufferPointer(start: nil, count: 0), flush: Z_FINISH, path: path, sink: sink)
    }

    private func run(
        _ chunk: UnsafeRawBufferPointer, flush: Int32, path: String, sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        stream.pointee.next_in = UnsafeMutablePointer(
            mutating: chunk.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(chunk.count)
        while true {
            stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(output.count)
            let code = deflate(stream, flush)
            if code != Z_OK && code != Z_STREAM_END && code != Z_BUF_ERROR {
                throw DeploymentStoreError.compressionFailed(path: path, code: code)
            }
            let produced = output.count - Int(stream.pointee.avail_out)
            if produced > 0 { try sink(UnsafeRawBufferPointer(rebasing: output[0..<produced])) }
            if flush == Z_FINISH {
                if code == Z_STREAM_END { return }
            } else if stream.pointee.avail_in == 0 && stream.pointee.avail_out != 0 {
                return
            }
        }
    }
}
