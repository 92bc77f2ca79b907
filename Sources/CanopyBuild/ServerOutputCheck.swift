import CanopySpec
import Foundation

/// Build output that needs a server (Amplify's SSR compute manifests, a Next.js server build): Canopy
/// serves static files only, so such a build deploys, but its server-rendered pages and API routes
/// would 404. Found after the build, said as a warning with what to change.
enum ServerOutputCheck {
    /// Warnings for the built application folder `appFolder` (absolute) and its artifacts folder.
    static func warnings(appFolder: String, artifacts: ArtifactSelection) -> [String] {
        let files = FileManager.default
        var warnings: [String] = []
        let manifest = appFolder + "/.amplify-hosting/deploy-manifest.json"
        if files.fileExists(atPath: manifest) {
            warnings.append(
                ".amplify-hosting/deploy-manifest.json is Amplify's manifest for server-side rendering (compute "
                    + "functions); Canopy serves static output only, so server-rendered routes will answer 404. "
                    + "Deploy a static export instead (for example `output: 'export'` in next.config.js, artifacts `out`)"
            )
        }
        let base = artifacts.baseDirectory == "." ? appFolder : appFolder + "/" + artifacts.baseDirectory
        let nextServer = ["required-server-files.json", "server/pages-manifest.json", "server/app-paths-manifest.json"]
        if nextServer.contains(where: { files.fileExists(atPath: base + "/" + $0) }) {
            warnings.append(
                "the artifacts folder \(artifacts.baseDirectory) is a Next.js server build (it has "
                    + "required-server-files.json or server/ manifests); Canopy serves static files only, so pages "
                    + "rendered on the server and API routes will answer 404. Set `output: 'export'` in "
                    + "next.config.js and deploy baseDirectory `out`")
        }
        return warnings
    }
}
