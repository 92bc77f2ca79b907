import CanopySpec
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Finds a checkout's build spec where Amplify looks for it
/// (https://docs.aws.amazon.com/amplify/latest/userguide/monorepo-configuration.html): `amplify.yml`
/// (or `.yaml`) at the repository root, else in the application's folder (`frontend/amplify.yml`
/// with appRoot `frontend`). Files are read without following links: a link there fails the build
/// rather than making the server read (and quote) a file from elsewhere.
public enum BuildSpecLocator {
    static let names = ["amplify.yml", "amplify.yaml"]

    /// The plan for the checkout at `checkout`, or why there is none. A folder without a build spec
    /// deploys as it is, unless its package.json has a build script (then it surely needs a build).
    public static func load(checkout: String, appRoot: String?) -> Result<BuildPlan, Error> {
        let root = RelativePath.resolve(appRoot ?? "") ?? ""
        var folders = [""]
        if !root.isEmpty { folders.append(root) }
        var looked: [String] = []
        for folder in folders {
            for name in names {
                let path = folder.isEmpty ? name : folder + "/" + name
                looked.append(path)
                switch readFile(path, in: checkout) {
                case .missing: continue
                case .refused(let message): return .failure(BuildFailure(message: message))
                case .text(let text):
                    do {
                        var plan = try AmplifySpec.parse(text, file: path, appRoot: appRoot)
                        if !folder.isEmpty && plan.appRoot.isEmpty { plan.appRoot = folder }
                        return .success(plan)
                    } catch {
                        return .failure(error)
                    }
                }
            }
        }
        let manifest = root.isEmpty ? "package.json" : root + "/package.json"
        if case .text(let json) = readFile(manifest, in: checkout), hasBuildScript(json) {
            return .failure(
                BuildFailure(
                    message: "no build spec was found (looked for \(looked.joined(separator: ", "))), but "
                        + "\(manifest) has a build script, so this folder needs a build; Canopy does not guess "
                        + "build settings: commit an amplify.yml with the commands and artifacts (for example "
                        + "frontend: phases: build: commands: [npm ci, npm run build], artifacts: baseDirectory: dist)"
                ))
        }
        var plan = BuildPlan.repositoryRoot
        plan.appRoot = root
        return .success(plan)
    }

    enum Read {
        case missing
        case refused(String)
        case text(String)
    }

    /// Reads `relative` inside `checkout`, one component at a time, never through a link.
    static func readFile(_ relative: String, in checkout: String) -> Read {
        let parts = relative.split(separator: "/").map(String.init)
        guard var folder = try? SafeDirectory.open(checkout), let name = parts.last else { return .missing }
        var walked = ""
        for part in parts.dropLast() {
            walked += walked.isEmpty ? part : "/" + part
            guard let info = folder.entry(part) else { return .missing }
            if info.st_mode & S_IFMT == S_IFLNK { return .refused(linkRefusal(walked)) }
            guard let inner = try? folder.openDirectory(part) else { return .missing }
            folder = inner
        }
        guard let info = folder.entry(name) else { return .missing }
        if info.st_mode & S_IFMT == S_IFLNK { return .refused(linkRefusal(relative)) }
        guard info.st_mode & S_IFMT == S_IFREG, let fd = try? folder.openFile(name) else { return .missing }
        defer { close(fd) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while data.count <= 4 << 20 {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            data.append(contentsOf: buffer[..<count])
        }
        return .text(String(decoding: data, as: UTF8.self))
    }

    static func linkRefusal(_ name: String) -> String {
        "\(name) is a symbolic link; Canopy reads only a plain file there, so commit (or build) the file itself"
    }

    /// Whether a package.json has a non-empty `scripts.build`.
    static func hasBuildScript(_ json: String) -> Bool {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
            let scripts = object["scripts"] as? [String: Any], let build = scripts["build"] as? String
        else { return false }
        return !build.trimmingCharacters(in: .whitespaces).isEmpty
    }
}
