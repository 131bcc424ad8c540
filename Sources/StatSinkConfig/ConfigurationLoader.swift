#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Yams

/// Reads and validates configuration files.
///
/// Validation does not stop at the first problem: a ``ConfigurationError`` lists every problem
/// found, each with its file, line and key path, so one edit can fix them all.
///
/// ```swift
/// do {
///     let configuration = try ConfigurationLoader.load(path: "sink.yaml")
///     configuration.notes.forEach { print($0) }
/// } catch {
///     for problem in error.problems { print(problem) }
/// }
/// ```
public enum ConfigurationLoader {
    /// Reads, parses and validates the configuration file at `path`.
    ///
    /// - Throws: ``ConfigurationError`` when the file cannot be read or is not a valid
    ///   configuration.
    public static func load(path: String) throws(ConfigurationError) -> StatSinkConfiguration {
        let text: String
        switch readFile(atPath: path) {
        case .success(let contents): text = contents
        case .failure(let problem):
            throw ConfigurationError(problems: [ConfigurationProblem(file: path, line: nil, keyPath: "", message: problem.message)])
        }
        return try parse(yaml: text, fileName: path)
    }

    /// Parses and validates configuration text.
    ///
    /// - Parameters:
    ///   - yaml: The YAML text of the configuration.
    ///   - fileName: The name problems and notes are reported under.
    /// - Throws: ``ConfigurationError`` when the text is not a valid configuration.
    public static func parse(yaml: String, fileName: String) throws(ConfigurationError) -> StatSinkConfiguration {
        var result: Result<StatSinkConfiguration, ConfigurationError>?
        // Deeply nested documents need more stack than the caller's thread may have.
        ParsingThread.run {
            result = Result { () throws(ConfigurationError) in try parseOnThisThread(yaml: yaml, fileName: fileName) }
        }
        do {
            return try result!.get()
        } catch {
            // libyaml places the end of a file without a final line break (where an empty
            // document or a syntax error may be) on the line after the last: it is the last.
            let lines = lineCount(yaml)
            throw ConfigurationError(problems: error.problems.map { problem in
                var problem = problem
                problem.line = problem.line.map { min($0, lines) }
                return problem
            })
        }
    }

    private static func parseOnThisThread(yaml: String, fileName: String) throws(ConfigurationError) -> StatSinkConfiguration {
        if let failure = AliasExpansion.failure(in: yaml) {
            throw ConfigurationError(problems: [ConfigurationProblem(file: fileName, line: failure.line, keyPath: "", message: failure.message)])
        }
        let root: Node
        switch composeDocument(yaml) {
        case .failure(let failure):
            throw ConfigurationError(problems: [
                ConfigurationProblem(file: fileName, line: failure.line, keyPath: "", message: failure.message)
            ])
        case .success(nil):
            throw ConfigurationError(problems: [
                ConfigurationProblem(
                    file: fileName, line: nil, keyPath: "",
                    message: "the file is empty: expected a configuration with at least stats_sinks"
                )
            ])
        case .success(let node?):
            root = node
        }
        let decoder = ConfigurationDecoder(file: fileName)
        let configuration = decoder.decodeBootstrap(root)
        guard decoder.problems.isEmpty, let configuration else {
            throw ConfigurationError(problems: decoder.sortedProblems)
        }
        return configuration
    }
}

/// A failure to read or compose a file, before any key is looked at.
struct DocumentFailure: Error {
    var line: Int?
    var message: String
}

/// The text of a UTF-8 file, or why it cannot be had.
func readFile(atPath path: String) -> Result<String, DocumentFailure> {
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else {
        return .failure(DocumentFailure(message: "cannot open the file: \(String(cString: strerror(errno)))"))
    }
    defer { close(descriptor) }
    var bytes = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count == 0 { break }
        if count < 0 {
            if errno == EINTR { continue }
            return .failure(DocumentFailure(message: "cannot read the file: \(String(cString: strerror(errno)))"))
        }
        bytes += chunk[0..<count]
    }
    guard let text = String(validating: bytes, as: UTF8.self) else {
        return .failure(DocumentFailure(message: "the file is not valid UTF-8 text"))
    }
    return .success(text)
}

/// What is inserted in front of an earlier occurrence of a duplicated key so that the document
/// composes and the duplicate can be reported with its key path.
let duplicateKeyMarker = "__statsink_duplicate_"

/// Composes the single YAML document in `yaml`; `nil` when it holds no document.
///
/// Yams refuses a mapping with duplicate keys outright, which would hide every other problem.
/// Instead each earlier occurrence is renamed with ``duplicateKeyMarker`` and composing is
/// retried; the decoder then reports the duplicates where they are.
func composeDocument(_ yaml: String) -> Result<Node?, DocumentFailure> {
    var text = yaml
    var line: Int?
    for attempt in 0..<200 {
        do {
            return .success(try Yams.compose(yaml: text))
        } catch let error as YamlError {
            if case .duplicatedKeysInMapping(let keys, let context) = error {
                line = context.mark.line
                if let marked = insertDuplicateMarker(attempt, into: text, at: context.mark) {
                    text = marked
                    continue
                }
                let names = keys.map(\.quotedForMessage).joined(separator: ", ")
                return .failure(DocumentFailure(line: context.mark.line, message: "duplicate key \(names) in a mapping"))
            }
            return .failure(documentFailure(from: error, in: text))
        } catch {
            return .failure(DocumentFailure(message: "invalid YAML: \(error)"))
        }
    }
    return .failure(DocumentFailure(line: line, message: "too many duplicate keys"))
}

/// `text` with a marker inserted into the key scalar starting at `mark`, or `nil` when that
/// key is not a plain or quoted scalar.
private func insertDuplicateMarker(_ number: Int, into text: String, at mark: Mark) -> String? {
    var scalars = Array(text.unicodeScalars)
    // Lines and columns as libyaml counts them: after a byte order mark, LF, CRLF, CR, NEL,
    // LS and PS each ending a line, columns in scalars.
    var index = scalars.first == "\u{FEFF}" ? 1 : 0
    var line = 1
    while line < mark.line, index < scalars.count {
        let scalar = scalars[index]
        index += 1
        if scalar == "\r", index < scalars.count, scalars[index] == "\n" { index += 1 }
        if isLineBreak(scalar) { line += 1 }
    }
    guard line == mark.line, mark.column >= 1 else { return nil }
    var position = index + mark.column - 1
    guard position < scalars.count, !scalars[index..<position].contains(where: isLineBreak) else { return nil }
    let first = scalars[position]
    if first == "\"" || first == "'" {
        position += 1
    } else if "?&*!|>{}[],#%@`".unicodeScalars.contains(first) {
        // Complex keys, anchors and tags: not worth rewriting.
        return nil
    }
    scalars.insert(contentsOf: "\(duplicateKeyMarker)\(number)__".unicodeScalars, at: position)
    var result = String.UnicodeScalarView()
    result.append(contentsOf: scalars)
    return String(result)
}

private func isLineBreak(_ scalar: Unicode.Scalar) -> Bool {
    scalar == "\n" || scalar == "\r" || scalar == "\u{85}" || scalar == "\u{2028}" || scalar == "\u{2029}"
}

/// A one-line description of a Yams parse error and its line.
private func documentFailure(from error: YamlError, in text: String) -> DocumentFailure {
    func describe(_ problem: String, _ context: YamlError.Context?) -> String {
        guard let context, !context.text.isEmpty else { return "invalid YAML: \(problem)" }
        // libyaml splits some sentences in two: "expected a single document…" "but found…".
        if problem.hasPrefix("but ") { return "invalid YAML: \(context.text) \(problem)" }
        return "invalid YAML: \(problem) (\(context.text) on line \(context.mark.line))"
    }
    switch error {
    case .scanner(let context, let problem, let mark, _),
        .parser(let context, let problem, let mark, _),
        .composer(let context, let problem, let mark, _):
        return DocumentFailure(line: mark.line, message: describe(problem, context))
    case .reader(let problem, let offset, _, _):
        let line = offset.map { offset in text.prefix(offset).reduce(1) { $1 == "\n" ? $0 + 1 : $0 } }
        return DocumentFailure(line: line, message: "invalid YAML: \(problem)")
    default:
        return DocumentFailure(message: "invalid YAML: \(error)")
    }
}

/// The number of lines of `text` as libyaml counts them (LF, CRLF, CR, NEL, LS and PS end a
/// line), a last line without a break included.
private func lineCount(_ text: String) -> Int {
    var count = 1
    var previous: Unicode.Scalar?
    for scalar in text.unicodeScalars {
        if isLineBreak(scalar), !(scalar == "\n" && previous == "\r") { count += 1 }
        previous = scalar
    }
    return count
}
