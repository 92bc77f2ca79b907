import Yams

/// A YAML node with the file it came from, so that every value can say where it is written.
struct YAMLValue {
    let node: Node
    let file: String

    var location: SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    /// Parses `text` into its root node; a YAML syntax error becomes a SpecError with its line.
    static func parse(_ text: String, file: String) throws -> YAMLValue {
        // A committed merge conflict otherwise reads as a puzzling YAML error a few lines further on.
        for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
        where line.hasPrefix("<<<<<<< ") || line.hasPrefix(">>>>>>> ") || line == "<<<<<<<" || line == ">>>>>>>" {
            throw SpecError(
                at: SourceLocation(file: file, line: index + 1, column: 1),
                "unresolved merge conflict marker '\(line.prefix(7))': resolve the conflict in this file and commit again"
            )
        }
        do {
            guard let root = try Yams.compose(yaml: text) else {
                throw SpecError(at: SourceLocation(file: file, line: 1, column: 1), "the file is empty")
            }
            return YAMLValue(node: root, file: file)
        } catch let error as YamlError {
            throw SpecError([diagnostic(for: error, file: file)])
        }
    }

    static func diagnostic(for error: YamlError, file: String) -> SpecDiagnostic {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let where_ = context.map { " (\($0.text) at line \($0.mark.line))" } ?? ""
            return SpecDiagnostic(
                .error, at: SourceLocation(file: file, line: mark.line, column: mark.column),
                "invalid YAML: \(problem)\(where_)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return SpecDiagnostic(
                .error, at: SourceLocation(file: file, line: context.mark.line, column: context.mark.column),
                "duplicated keys: \(duplicates.joined(separator: ", "))")
        case .reader(let problem, _, _, _):
            return SpecDiagnostic(
                .error, at: SourceLocation(file: file, line: 1, column: 1), "cannot read the file: \(problem)")
        default:
            return SpecDiagnostic(.error, at: SourceLocation(file: file, line: 1, column: 1), "invalid YAML: \(error)")
        }
    }

    func error(_ message: String) -> SpecError { SpecError(at: location, message) }

    var isNull: Bool {
        if case .scalar(let s) = node {
            return s.tag == .implicit && (s.string == "" || s.string == "~" || s.string == "null") && s.style == .plain
        }
        return false
    }

    /// The entries of a mapping, in file order, with string keys.
    func mapping(_ what: String) throws -> [(key: String, keyLocation: SourceLocation, value: YAMLValue)] {
        guard case .mapping(let mapping) = node else {
            throw error("\(what) must be a mapping (key: value), not \(kind)")
        }
        return try mapping.map { key, value in
            guard case .scalar(let scalar) = key else {
                throw YAMLValue(node: key, file: file).error("keys of \(what) must be plain names")
            }
            return (scalar.string, YAMLValue(node: key, file: file).location, YAMLValue(node: value, file: file))
        }
    }

    /// A scalar as text (numbers and booleans as written).
    func string(_ what: String) throws -> String {
        guard case .scalar(let scalar) = node else { throw error("\(what) must be a single value, not \(kind)") }
        return scalar.string
    }

    func int(_ what: String) throws -> Int {
        guard let value = Int(try string(what)) else { throw error("\(what) must be a whole number") }
        return value
    }

    func bool(_ what: String) throws -> Bool {
        switch try string(what).lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error("\(what) must be true or false")
        }
    }

    /// A list of scalars; a single scalar is a list of one (as Amplify accepts); null is empty.
    func strings(_ what: String) throws -> [(String, SourceLocation)] {
        if isNull { return [] }
        switch node {
        case .scalar(let scalar): return [(scalar.string, location)]
        case .sequence(let sequence):
            return try sequence.map { item in
                let value = YAMLValue(node: item, file: file)
                return (try value.string("each item of \(what)"), value.location)
            }
        default: throw error("\(what) must be a list")
        }
    }

    func items(_ what: String) throws -> [YAMLValue] {
        if isNull { return [] }
        guard case .sequence(let sequence) = node else { throw error("\(what) must be a list (- item), not \(kind)") }
        return sequence.map { YAMLValue(node: $0, file: file) }
    }

    /// A mapping of names to scalar values (environment variables).
    func stringMap(_ what: String) throws -> [String: String] {
        if isNull { return [:] }
        var map: [String: String] = [:]
        for entry in try mapping(what) {
            map[entry.key] = entry.value.isNull ? "" : try entry.value.string("\(what).\(entry.key)")
        }
        return map
    }

    var kind: String {
        switch node {
        case .scalar: "a single value"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }
}

/// Collects findings while a file is read; errors are thrown together at the end.
struct DiagnosticCollector {
    var diagnostics: [SpecDiagnostic] = []

    mutating func warn(_ location: SourceLocation, _ message: String) {
        diagnostics.append(SpecDiagnostic(.warning, at: location, message))
    }

    mutating func error(_ location: SourceLocation, _ message: String) {
        diagnostics.append(SpecDiagnostic(.error, at: location, message))
    }

    /// Runs `body` (which records into the collector it is given), recording a thrown SpecError
    /// instead of stopping.
    mutating func attempt(_ body: (inout DiagnosticCollector) throws -> Void) {
        do {
            try body(&self)
        } catch let error as SpecError {
            diagnostics += error.diagnostics
        } catch {
            diagnostics.append(SpecDiagnostic(.error, at: SourceLocation(file: "?", line: 1, column: 1), "\(error)"))
        }
    }

    var errors: [SpecDiagnostic] { diagnostics.filter { $0.severity == .error } }
    var warnings: [SpecDiagnostic] { diagnostics.filter { $0.severity == .warning } }

    func throwIfErrors() throws {
        if !errors.isEmpty { throw SpecError(errors) }
    }
}
