import CYaml

/// Guards the composer against YAML alias bombs.
///
/// Yams resolves an alias to its anchored node, so a document of a few lines can stand for
/// billions of nodes ("billion laughs"), and Yams hashes mapping keys whole: `statsink-fuzz
/// config` made a 1 KB file whose alias key took 46 s to compose. Aliases are refused anyway
/// (``ConfigurationDecoder`` reports each with its key path), so before composing, libyaml's
/// events (which never expand aliases) count the values the document stands for, and a document
/// of more than ``limit`` is refused at once.
enum AliasExpansion {
    /// More values than any configuration has, few enough to compose in milliseconds.
    static let limit = 100_000

    /// The failure for `yaml` when its aliases stand for more than ``limit`` values; `nil` for
    /// every other document (syntax errors are left to the composer).
    static func failure(in yaml: String) -> DocumentFailure? {
        // Without an asterisk there is no alias.
        guard yaml.utf8.contains(UInt8(ascii: "*")) else { return nil }
        var text = yaml
        return text.withUTF8 { bytes in
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else { return nil }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_input_string(&parser, bytes.baseAddress, bytes.count)
            var sizes: [String: Int] = [:]
            // Per open collection: its anchor and the values counted in it so far.
            var open: [(anchor: String?, size: Int)] = [(nil, 0)]
            func add(_ size: Int, anchor: String?) {
                if let anchor { sizes[anchor] = size }
                open[open.count - 1].size = min(limit + 1, open[open.count - 1].size + size)
            }
            func name(_ anchor: UnsafeMutablePointer<yaml_char_t>?) -> String? {
                anchor.map { String(cString: $0) }
            }
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return nil }
                defer { yaml_event_delete(&event) }
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    return nil
                case YAML_SCALAR_EVENT:
                    add(1, anchor: name(event.data.scalar.anchor))
                case YAML_SEQUENCE_START_EVENT:
                    open.append((name(event.data.sequence_start.anchor), 1))
                case YAML_MAPPING_START_EVENT:
                    open.append((name(event.data.mapping_start.anchor), 1))
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    guard open.count > 1 else { return nil }
                    let closed = open.removeLast()
                    add(closed.size, anchor: closed.anchor)
                case YAML_ALIAS_EVENT:
                    add(name(event.data.alias.anchor).flatMap { sizes[$0] } ?? 1, anchor: nil)
                    if open.reduce(0, { min(limit + 1, $0 + $1.size) }) > limit {
                        return DocumentFailure(
                            line: Int(event.start_mark.line) + 1,
                            message: "YAML aliases are not supported, and these stand for over \(limit) values: write the values out")
                    }
                default:
                    continue
                }
            }
        }
    }
}
