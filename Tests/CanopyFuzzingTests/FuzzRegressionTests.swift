import CanopyFuzzing
import Foundation
import Testing

/// Replays the fuzz targets' seed corpus and every input that once crashed a target
/// (`Regressions/<target>/`, kept by Scripts/fuzz.sh) through the targets in an ordinary build, so
/// a parser regression fails the normal test run and not only a fuzzing session.
@Suite struct FuzzRegressionTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    /// (target, file) for every input under Corpus/ and Regressions/.
    static func inputs() -> [(String, String)] {
        var found: [(String, String)] = []
        for kind in ["Corpus", "Regressions"] {
            let base = folder.appendingPathComponent(kind).path
            for target in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] {
                let dir = base + "/" + target
                for file in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
                    found.append((target, dir + "/" + file))
                }
            }
        }
        return found.sorted { $0.1 < $1.1 }
    }

    @Test func everyTargetHasSeedsAndEverySeedNamesATarget() {
        let inputs = Self.inputs()
        for name in FuzzTargets.names {
            #expect(inputs.contains { $0.0 == name }, "no seed input for fuzz target \(name)")
        }
        for (target, path) in inputs {
            #expect(FuzzTargets.names.contains(target), "\(path) is in a folder that names no fuzz target")
        }
    }

    /// The edge targets must reach the Responder (not stop at a pipeline that refuses everything).
    @Test func theEdgeTargetsAnswerRealRequests() throws {
        let get = try Data(contentsOf: Self.folder.appendingPathComponent("Corpus/edge/get"))
        let http1 = String(decoding: FuzzTargets.edgeAnswer(Array(get), http2: false), as: UTF8.self)
        #expect(http1.hasPrefix("HTTP/1.1 200 OK") && http1.contains("<h1>home</h1>"))

        let headers = try Data(contentsOf: Self.folder.appendingPathComponent("Corpus/h2/get"))
        let http2 = FuzzTargets.edgeAnswer(Array(headers), http2: true)
        // A HEADERS frame (type 1) on stream 1 and the page's bytes in a DATA frame.
        #expect(Self.frames(http2).contains { $0.type == 1 && $0.stream == 1 })
        #expect(String(decoding: http2, as: UTF8.self).contains("<h1>home</h1>"))
    }

    static func frames(_ bytes: [UInt8]) -> [(type: UInt8, stream: UInt32)] {
        var found: [(UInt8, UInt32)] = []
        var offset = 0
        while offset + 9 <= bytes.count {
            let length = Int(bytes[offset]) << 16 | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2])
            let stream = bytes[offset + 5..<offset + 9].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            found.append((bytes[offset + 3], stream))
            offset += 9 + length
        }
        return found
    }

    @Test func corpusAndRegressionInputsRunCleanly() throws {
        for (target, path) in Self.inputs() {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            let known = data.withUnsafeBytes { FuzzTargets.run(target, $0) }
            #expect(known, "\(path)")
        }
    }
}
