import CanopyEdge
import CanopySpec

/// Canopy's fuzz targets: each feeds arbitrary bytes to one parser or to the edge's connection
/// pipeline. A target must never crash, hang or grow without bound, whatever the bytes.
///
/// `Scripts/fuzz.sh` runs them under libFuzzer (`canopy-fuzz`, built with `-sanitize=fuzzer`); the
/// `CanopyFuzzingTests` suite replays the seed corpus and every input that once crashed, so a
/// regression fails the ordinary test run.
public enum FuzzTargets {
    /// Every target, by name.
    public static let names = [
        "http1", "target", "edge", "h2", "netlify-redirects", "netlify-headers", "amplify-redirects",
        "custom-http", "sites", "amplify", "netlify-toml",
    ]

    /// What the edge writes back for `bytes` on one connection (after the HTTP/2 preface and an
    /// empty SETTINGS frame when `http2`): for checking that the edge targets reach the Responder.
    public static func edgeAnswer(_ bytes: [UInt8], http2: Bool) -> [UInt8] {
        bytes.withUnsafeBytes { EdgeHarness.shared.feed($0, http2: http2) }
    }

    /// Runs target `name` on `bytes`; false when there is no such target.
    @discardableResult
    public static func run(_ name: String, _ bytes: UnsafeRawBufferPointer) -> Bool {
        let text = { String(decoding: bytes, as: UTF8.self) }
        switch name {
        case "http1": _ = EdgeParsing.parseRequests(bytes)
        case "target": _ = EdgeParsing.normalisedPath(text())
        case "edge": EdgeHarness.shared.feed(bytes, http2: false)
        case "h2": EdgeHarness.shared.feed(bytes, http2: true)
        case "netlify-redirects": _ = try? RulesSpec.parseNetlifyRedirects(text(), file: "_redirects")
        case "netlify-headers": _ = try? RulesSpec.parseNetlifyHeaders(text(), file: "_headers")
        case "amplify-redirects": _ = try? RulesSpec.parseAmplifyRedirects(json: text(), file: "redirects.json")
        case "custom-http": _ = try? RulesSpec.parseCustomHTTP(yaml: text(), file: "customHttp.yml")
        case "netlify-toml": _ = try? RulesSpec.parseNetlifyTOML(text(), file: "netlify.toml")
        case "sites":
            _ = try? SitesSpec.parse(text(), file: "Sites/fuzz.yml", siteName: "fuzz", baseDirectory: "/nonexistent")
        case "amplify": _ = try? AmplifySpec.parse(text(), file: "amplify.yml", appRoot: nil)
        default: return false
        }
        return true
    }
}
