import Dispatch
import Foundation
import StatSinkSynthetic
import Synchronization
import Yams

/// Structure-aware mutations of configuration text: values replaced with values of other
/// types and at the edges of their ranges, keys dropped, duplicated, misspelt or swapped for
/// other keys of the schema, deep nesting, anchors and aliases, tags, tabs, long strings, other
/// line endings, several documents, and the whole file turned into JSON.
enum YAMLMutator {
    static let keys = [
        "node", "id", "cluster", "stats_flush_interval", "stats_sinks", "name", "typed_config", "\"@type\"", "broker_list", "topic",
        "batch_size", "format", "emit_tags_as_labels", "report_counters_as_deltas", "buffer_flush_timeout_ms", "producer_config",
        "buffer", "path", "max_bytes", "when_full", "durability", "sources", "synthetic", "counters", "gauges", "histograms",
        "metrics_service", "listen", "max_message_bytes", "snapshot_idle_timeout", "admin", "seconds", "nanos", "brokerList",
        "statsFlushInterval", "typedConfig", "batchSize", "static_resources", "metadata", "address", "tracing", "sasl.password",
        "linger.ms", "acks", "\"\"", "''", "~", "null", "1", "true", "<<", "? [a]", "[a, b]", "{a: b}", "é✓", "a.b", "@type",
        "\"ke\\ty\"", "\"\\u0000\"", String(repeating: "k", count: 300),
    ]

    static let values = [
        "", "~", "null", "Null", "true", "false", "yes", "no", "on", "off", "y", "0", "-0", "1", "-1", "01", "0x10", "0o17", "1_000",
        "+5", "4294967295", "4294967296", "9223372036854775807", "9223372036854775808", "18446744073709551615",
        "18446744073709551616", "99999999999999999999999999999", "1e400", "-1e400", ".inf", "-.inf", ".nan", "NaN", "1.5", "1e3",
        "0.0000001", "10s", "0s", "1ms", "0.5ms", "299.999999999s", "300s", "1.0000000001s", "-1s", "1.5.5s", "1e3s",
        "999999999999s", "9999999999999s", "99999999999999999999s", "1ns", "1us", "10 s", "s", "ms", ".5s", "5.s", "1GiB",
        "0B", "1B", "16EiB", "18446744073709551615B", "17179869184GiB", "17179869183GiB", "16777216TiB", "1.5GiB", "1KB",
        "64KiB", "65535KiB", "1TiB", "-1KiB", "0x10KiB", "JSON", "PROTOBUF", "json", "2", "drop_oldest", "drop_newest",
        "normal", "full", "127.0.0.1:18000", "[::1]:9902", "[::1", "::1:9902", ":0", "host:65536", "localhost:1",
        "[fe80::1%eth0]:80", "0.0.0.0:65535", "h:00001", "h:+1", "h:1 ", "[]:1", "\"\"", "\" \"", "\"\\0\"", "\"\\t\\n\\r\"",
        "'single ''quoted'''", "\"é✓😀\"", "\"\\U0001F600\"", "\"\\x41\"", "\"\\uD800\"", "\"\\u0085\\u2028\\uFEFF\"",
        "\"a\\\"b\"", "\"\\\\\"", "[]", "{}", "[1, 2]", "{a: b}", "[[]]", "{seconds: 10, nanos: 5}", "{seconds: -1}",
        "{nanos: 1000000000}", "{seconds: 9223372036854775807, nanos: 999999999}", "{seconds: 1.5}", "{seconds: 299, nanos: 999999999}",
        "\(ConfigSeeds.typeURL)", "type.googleapis.com/x.KafkaStatsSinkConfig", "/KafkaStatsSinkConfig",
        "envoy.stat_sinks.kafka", "envoy.stat_sinks.statsd", "2001-12-14t21:59:43.10-05:00", "!!binary aGVsbG8=", "*", "&",
        "%", "@x", "`x`", "|", ">", "? x", "- x", "a: b", "#", "!", "!!", "!!str", "\"unterminated", "'", "{", "[", "}", "]",
    ]

    static let tags = ["!!str ", "!!int ", "!!float ", "!!bool ", "!!null ", "!!binary ", "!!timestamp ", "!!set ", "!!omap ",
                       "!!map ", "!!seq ", "!local ", "!<tag:yaml.org,2002:str> ", "!<x> ", "!e!x "]

    /// Applies one structure-aware mutation to `input` (read as UTF-8, repaired).
    static func mutate(_ input: inout [UInt8], donor: [UInt8], maximumSize: Int, using random: inout SplitMix64) {
        var text = String(decoding: input, as: UTF8.self)
        let room = max(0, maximumSize - input.count)
        switch Int.random(in: 0..<17, using: &random) {
        case 0, 1, 2:
            replaceValue(in: &text, with: values.randomElement(using: &random)!, using: &random)
        case 3:
            replaceKey(in: &text, using: &random)
        case 4:
            editLines(&text) { lines in
                guard !lines.isEmpty else { return }
                lines.remove(at: Int.random(in: lines.indices, using: &random))
            }
        case 5:
            // A line again, right after itself: a duplicate key, or one more sequence item.
            editLines(&text) { lines in
                guard !lines.isEmpty else { return }
                let index = Int.random(in: lines.indices, using: &random)
                let end = blockEnd(lines, from: index)
                let copy = Bool.random(using: &random) ? [lines[index]] : Array(lines[index..<end])
                lines.insert(contentsOf: copy, at: end)
            }
        case 6:
            editLines(&text) { lines in
                guard lines.count > 1 else { return }
                let index = Int.random(in: 0..<(lines.count - 1), using: &random)
                lines.swapAt(index, index + 1)
            }
        case 7:
            editLines(&text) { lines in
                guard !lines.isEmpty else { return }
                let index = Int.random(in: lines.indices, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0: lines[index] = " " + lines[index]
                case 1: lines[index] = String(lines[index].drop { $0 == " " })
                case 2: lines[index] = "\t" + lines[index].drop { $0 == " " }
                default: lines[index] = lines[index].replacingFirst(": ", with: ":\t")
                }
            }
        case 8:
            // A new key at the indentation of an existing line.
            editLines(&text) { lines in
                let index = lines.isEmpty ? 0 : Int.random(in: lines.indices, using: &random)
                let indent = lines.isEmpty ? "" : String(lines[index].prefix { $0 == " " || $0 == "-" })
                let line = indent + keys.randomElement(using: &random)! + ": " + values.randomElement(using: &random)!
                lines.insert(line, at: min(lines.count, index + 1))
            }
        case 9:
            replaceValue(in: &text, with: deepValue(room: room, using: &random), using: &random)
        case 10:
            anchorsAndAliases(&text, room: room, using: &random)
        case 11:
            let length = min(room, [100, 1000, 10_000, 60_000].randomElement(using: &random)!)
            let unit = ["a", "é", "😀", "\\\"", "\\u0041", " ", "\\n"].randomElement(using: &random)!
            let body = String(repeating: unit, count: max(1, length / max(1, unit.utf8.count)))
            replaceValue(in: &text, with: Bool.random(using: &random) ? "\"\(body)\"" : body, using: &random)
        case 12:
            if let json = jsonForm(of: text) { text = json }
        case 13:
            textual(&text, using: &random)
        case 14:
            replaceValue(in: &text, with: tags.randomElement(using: &random)! + values.randomElement(using: &random)!, using: &random)
        case 15:
            // A block scalar for a value.
            let style = ["|", ">", "|-", ">+", "|2", "|0", "|10"].randomElement(using: &random)!
            replaceValue(in: &text, with: style + "\n      text\n\n       more", using: &random)
        default:
            // Lines of the other input spliced in.
            let donorLines = String(decoding: donor, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            guard !donorLines.isEmpty else { return }
            let start = Int.random(in: donorLines.indices, using: &random)
            let chunk = donorLines[start..<min(donorLines.count, start + Int.random(in: 1...8, using: &random))].map(String.init)
            editLines(&text) { lines in lines.insert(contentsOf: chunk, at: Int.random(in: 0...lines.count, using: &random)) }
        }
        input = Array(text.utf8)
        if input.count > maximumSize { input.removeLast(input.count - maximumSize) }
    }

    // MARK: Values and keys

    /// Replaces the value after a random `: ` (block or flow) with `value`.
    static func replaceValue(in text: inout String, with value: String, using random: inout SplitMix64) {
        let bytes = Array(text.utf8)
        let colons = bytes.indices.filter { bytes[$0] == UInt8(ascii: ":") && ($0 + 1 == bytes.count || bytes[$0 + 1] == 0x20 || bytes[$0 + 1] == 0x0A) }
        guard let colon = colons.randomElement(using: &random) else {
            text += "\nx: " + value
            return
        }
        var end = colon + 1
        if end < bytes.count, bytes[end] == 0x20 { end += 1 }
        let start = end
        var depth = 0
        while end < bytes.count {
            let byte = bytes[end]
            if byte == 0x0A { break }
            if depth == 0, byte == UInt8(ascii: ",") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") { break }
            if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") { depth += 1 }
            if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") { depth -= 1 }
            end += 1
        }
        text = String(decoding: bytes[..<start] + Array(value.utf8) + bytes[end...], as: UTF8.self)
    }

    /// Replaces a random key (the word before a `: `) with another key of the schema, a
    /// near-miss of itself, or a key YAML reads as something else than a string.
    static func replaceKey(in text: inout String, using random: inout SplitMix64) {
        let bytes = Array(text.utf8)
        let colons = bytes.indices.filter { bytes[$0] == UInt8(ascii: ":") && $0 + 1 < bytes.count && bytes[$0 + 1] == 0x20 }
        guard let colon = colons.randomElement(using: &random) else { return }
        var start = colon
        let stops: Set<UInt8> = [0x20, 0x0A, UInt8(ascii: "{"), UInt8(ascii: ","), UInt8(ascii: "-")]
        while start > 0, !stops.contains(bytes[start - 1]) { start -= 1 }
        let old = String(decoding: bytes[start..<colon], as: UTF8.self)
        let new: String
        switch Int.random(in: 0..<4, using: &random) {
        case 0:
            new = String(old.dropLast())
        case 1:
            new = old.uppercased()
        case 2:
            // snake_case to lowerCamelCase, as protobuf JSON names are written.
            let parts = old.split(separator: "_")
            new = (parts.first.map(String.init) ?? "") + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        default:
            new = keys.randomElement(using: &random)!
        }
        text = String(decoding: bytes[..<start] + Array(new.utf8) + bytes[colon...], as: UTF8.self)
    }

    /// A value nested many levels deep, in flow or block style, within `room` bytes.
    static func deepValue(room: Int, using random: inout SplitMix64) -> String {
        let depth = min([4, 40, 400, 4000, 30_000].randomElement(using: &random)!, max(1, room / 4))
        switch Int.random(in: 0..<4, using: &random) {
        case 0: return String(repeating: "[", count: depth) + "x" + String(repeating: "]", count: depth)
        case 1: return String(repeating: "{a: ", count: depth) + "x" + String(repeating: "}", count: depth)
        case 2: return String(repeating: "[{a: ", count: depth / 2) + "x" + String(repeating: "}]", count: depth / 2)
        default:
            // Block mappings, one more space of indentation per level.
            let levels = min(depth, 2000)
            return "\n" + (1...levels).map { String(repeating: " ", count: $0) + "k:" }.joined(separator: "\n") + " x"
        }
    }

    static func anchorsAndAliases(_ text: inout String, room: Int, using random: inout SplitMix64) {
        switch Int.random(in: 0..<5, using: &random) {
        case 0:
            replaceValue(in: &text, with: "&anchor " + values.randomElement(using: &random)!, using: &random)
            replaceValue(in: &text, with: "*anchor", using: &random)
        case 1:
            replaceValue(in: &text, with: "*undefined", using: &random)
        case 2:
            replaceValue(in: &text, with: "{<<: *anchor, a: 1}", using: &random)
        case 3:
            replaceValue(in: &text, with: "&self [*self]", using: &random)
        default:
            // Aliases of aliases: a billion laughs, if anything expanded them.
            var lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
            for level in 1..<10 {
                lines.append("l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ") + "]")
            }
            let block = lines.joined(separator: "\n") + "\n"
            if block.utf8.count <= room { text = block + text }
        }
    }

    static func textual(_ text: inout String, using random: inout SplitMix64) {
        switch Int.random(in: 0..<12, using: &random) {
        case 0: text = "\u{FEFF}" + text
        case 1: text = text.replacingOccurrences(of: "\n", with: "\r\n")
        case 2: text = text.replacingOccurrences(of: "\n", with: "\r")
        case 3: text = "---\n" + text + "\n...\n"
        case 4: text += "\n---\nstats_sinks: []\n"
        case 5: text = "%YAML 1.1\n%TAG !e! tag:example.com,2000:\n---\n" + text
        case 6: text = text.replacingOccurrences(of: "  ", with: "\t")
        default:
            let insert = ["\u{0}", "\u{85}", "\u{2028}", "\u{2029}", "\u{202E}", "\u{FEFF}", "\u{1F600}", "e\u{301}", "\t", " # c\n", "\u{7F}",
                          "\u{FFFE}", "\u{10FFFF}", "\\"].randomElement(using: &random)!
            var scalars = Array(text.unicodeScalars)
            let position = scalars.isEmpty ? 0 : Int.random(in: 0...scalars.count, using: &random)
            scalars.insert(contentsOf: insert.unicodeScalars, at: position)
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars)
            text = String(view)
        }
    }

    // MARK: Lines

    static func editLines(_ text: inout String, _ edit: (inout [String]) -> Void) {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        edit(&lines)
        text = lines.joined(separator: "\n")
    }

    /// The index after the line at `index` and the lines indented deeper below it.
    static func blockEnd(_ lines: [String], from index: Int) -> Int {
        let indent = lines[index].prefix { $0 == " " }.count
        var end = index + 1
        while end < lines.count, lines[end].prefix(while: { $0 == " " }).count > indent || lines[end].isEmpty { end += 1 }
        return end
    }

    // MARK: JSON

    /// The document as JSON (flow YAML with every string quoted), or `nil` when it does not
    /// compose.
    static func jsonForm(of text: String) -> String? {
        // Composing recurses once per level, up to libyaml's 1000: more than the fuzzer's
        // small stack holds, so on a thread with a large one.
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<String?>(nil)
        let thread = Thread {
            if let node = try? Yams.compose(yaml: text) {
                var json = ""
                writeJSON(node, into: &json, depth: 0)
                // Aliases are written out: a billion laughs would never end.
                if json.utf8.count <= 1 << 16 { result.withLock { $0 = json + "\n" } }
            }
            done.signal()
        }
        thread.stackSize = 16 << 20
        thread.start()
        done.wait()
        return result.withLock { $0 }
    }

    private static func writeJSON(_ node: Node, into json: inout String, depth: Int) {
        guard depth < 200, json.utf8.count <= 1 << 16 else {
            json += "null"
            return
        }
        switch node {
        case .scalar(let scalar):
            let tag = node.tag.description
            let literal = tag.hasSuffix(":int") && Int64(scalar.string) != nil || tag.hasSuffix(":bool") && ["true", "false"].contains(scalar.string)
                || tag.hasSuffix(":null") && scalar.string == "null"
            if literal {
                json += scalar.string
            } else if tag.hasSuffix(":null") {
                json += "null"
            } else {
                json += jsonString(scalar.string)
            }
        case .mapping(let mapping):
            json += "{"
            for (index, (key, value)) in mapping.enumerated() {
                if index > 0 { json += ", " }
                json += jsonString(key.scalar?.string ?? "?")
                json += ": "
                writeJSON(value, into: &json, depth: depth + 1)
            }
            json += "}"
        case .sequence(let sequence):
            json += "["
            for (index, item) in sequence.enumerated() {
                if index > 0 { json += ", " }
                writeJSON(item, into: &json, depth: depth + 1)
            }
            json += "]"
        case .alias:
            json += "null"
        }
    }

    private static func jsonString(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return (try? encoder.encode(text)).map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        var copy = self
        copy.replaceSubrange(range, with: replacement)
        return copy
    }
}
