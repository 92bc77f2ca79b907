import Foundation

/// What makes the usual Amplify commands work in a build that is not root's and not a fresh AWS
/// image: global installs go into the build's own prefix (`$HOME/.local`, first on PATH), and the
/// two tools whose defaults write outside it, or that Amplify's image has and this server may not,
/// get small wrappers there:
/// - `corepack enable` writes its shims into the prefix instead of next to node (`/usr/bin`);
/// - `nvm use N` / `nvm install N` goes on with the server's node when its major version is N, and
///   otherwise fails saying what to do (nvm is a shell function Amplify's image sources; a build that
///   installs and sources nvm itself gets the real one, which takes precedence over this file).
enum BuildTools {
    /// The build's prefix for global installs, inside its HOME.
    static func prefix(home: String) -> String { home + "/.local" }

    /// Writes the wrappers into the prefix's `bin`.
    static func install(home: String) throws {
        let bin = prefix(home: home) + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        for (name, script) in [("corepack", corepack), ("nvm", nvm)] {
            let path = bin + "/" + name
            try script.write(toFile: path, atomically: false, encoding: .utf8)
            chmod(path, 0o755)
        }
    }

    static let corepack = #"""
        #!/bin/sh
        # Canopy: `corepack enable` puts its shims in this build's prefix (on PATH), not next to node.
        here=$(cd "$(dirname "$0")" && pwd)
        real=
        IFS=:
        for dir in $PATH; do
          [ "$dir" = "$here" ] && continue
          if [ -x "$dir/corepack" ]; then real="$dir/corepack"; break; fi
        done
        unset IFS
        if [ -z "$real" ]; then
          echo "corepack is not installed on this server (it comes with Node.js 16.9 and later): install Node.js there, or run 'npm install -g corepack' in preBuild" >&2
          exit 127
        fi
        if [ "$1" = enable ]; then
          case " $* " in
            *" --install-directory"*) ;;
            *) shift; exec "$real" enable --install-directory "$here" "$@" ;;
          esac
        fi
        exec "$real" "$@"
        """#

    static let nvm = #"""
        #!/bin/sh
        # Canopy: nvm is not installed for builds; the server's node is used.
        node=$(command -v node || true)
        have=$(node --version 2>/dev/null | sed 's/^v//')
        want=$(printf '%s\n' "$@" | grep -v '^-' | sed -n '2p' | sed 's/^v//')
        [ -z "$want" ] && [ -f .nvmrc ] && want=$(tr -d ' \r\n' < .nvmrc | sed 's/^v//')
        case "$1" in
          use|install)
            if [ -n "$have" ] && [ -n "$want" ] && [ "${have%%.*}" = "${want%%.*}" ]; then
              echo "nvm is not installed on this Canopy server; using its node v$have ($node), which matches $want"
              exit 0
            fi ;;
          current|version) [ -n "$have" ] && { echo "v$have"; exit 0; } ;;
        esac
        echo "nvm is not installed on this Canopy server, so 'nvm $*' cannot switch Node.js versions." >&2
        if [ -n "$have" ]; then
          echo "This build has node v$have ($node). Install the Node.js version the site needs on the server, or install nvm in preBuild (see https://github.com/nvm-sh/nvm#install--update-script) and source ~/.nvm/nvm.sh before 'nvm $*'." >&2
        else
          echo "This server has no node on PATH. Install Node.js on the server, or install nvm in preBuild (see https://github.com/nvm-sh/nvm#install--update-script) and source ~/.nvm/nvm.sh before 'nvm $*'." >&2
        fi
        exit 1
        """#
}
