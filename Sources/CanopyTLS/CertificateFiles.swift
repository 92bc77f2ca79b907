import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A user's own certificate and key files (`tls: { certificate: FILE, key: FILE }`).
public struct CertificateFiles: Sendable, Hashable {
    public var certificate: String
    public var key: String

    public init(certificate: String, key: String) {
        self.certificate = certificate
        self.key = key
    }

    /// What the files hold now, to notice a change without parsing: each file's inode, size,
    /// modification and change times (a copy that keeps the modification time still changes ctime).
    public func stamp() -> String {
        [certificate, key].map { path in
            var st = stat()
            guard stat(path, &st) == 0 else { return "missing" }
            return
                "\(st.st_ino):\(st.st_size):\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec):\(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec)"
        }.joined(separator: ",")
    }

    /// Reads and checks both files. The error names the file at fault and why.
    public func load(now: Date = Date()) throws(CertificateFileError) -> CertificateBundle {
        let chainPEM = try read(certificate, what: "certificate")
        let keyPEM = try read(key, what: "key")
        do throws(CertificateProblem) {
            return try CertificateBundle(chainPEM: chainPEM, keyPEM: keyPEM, now: now)
        } catch {
            switch error {
            case .certificate(let reason): throw CertificateFileError(file: certificate, reason: reason)
            case .key(let reason): throw CertificateFileError(file: key, reason: reason)
            }
        }
    }

    private func read(_ path: String, what: String) throws(CertificateFileError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason =
                FileManager.default.fileExists(atPath: path)
                ? "the \(what) file cannot be read (check its permissions)" : "the \(what) file does not exist"
            throw CertificateFileError(file: path, reason: reason)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CertificateFileError(file: path, reason: "the \(what) file is not PEM text")
        }
        return text
    }
}

/// A certificate or key file that was refused: which file, and why.
public struct CertificateFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var reason: String

    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }

    public var description: String { "\(file): \(reason)" }
}
