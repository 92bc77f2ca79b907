import CanopyFuzzing
import Foundation

#if CANOPY_LIBFUZZER
    // Built by Scripts/fuzz.sh with `-sanitize=fuzzer -DCANOPY_LIBFUZZER`: libFuzzer drives the target
    // named by CANOPY_FUZZ_TARGET.

    private let targetName = ProcessInfo.processInfo.environment["CANOPY_FUZZ_TARGET"] ?? ""

    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        FuzzTargets.run(targetName, UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }

    @_silgen_name("LLVMFuzzerRunDriver")
    private func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt

    /// SwiftPM links an executable with `main` set to the module's entry point, `<module>_main`;
    /// here that hands the command line to libFuzzer's driver.
    @_cdecl("canopy_fuzz_main")
    public func canopyFuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
        guard FuzzTargets.names.contains(targetName) else {
            FileHandle.standardError.write(
                Data("set CANOPY_FUZZ_TARGET to one of: \(FuzzTargets.names.joined(separator: " "))\n".utf8))
            return 2
        }
        var argc = argc
        var argv = argv
        return LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput)
    }
#else
    /// Without libFuzzer: `canopy-fuzz TARGET FILE…` replays inputs through a target (a crash found
    /// by the fuzzer reproduces in an ordinary build this way).
    @main struct FuzzReplay {
        static func main() {
            let arguments = Array(CommandLine.arguments.dropFirst())
            guard let target = arguments.first, FuzzTargets.names.contains(target) else {
                print("usage: canopy-fuzz TARGET FILE…   (targets: \(FuzzTargets.names.joined(separator: " ")))")
                exit(2)
            }
            for path in arguments.dropFirst() {
                guard let data = FileManager.default.contents(atPath: path) else {
                    print("cannot read \(path)")
                    exit(1)
                }
                _ = data.withUnsafeBytes { FuzzTargets.run(target, $0) }
                print("\(target): \(path) ok")
            }
        }
    }
#endif
