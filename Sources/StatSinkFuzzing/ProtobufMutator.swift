import StatSinkSynthetic

/// Structure-aware mutations of protobuf bytes: the input is read into a tree of
/// ``WireField``s, one field somewhere in it is changed (its value, number, wire type, length,
/// encoding, or its presence), and the tree is written back, every other length still right.
enum ProtobufMutator {
    /// Field numbers worth trying: the schema's, zero, the reserved range, the largest.
    static let interestingFieldNumbers: [UInt64] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 19_000, 536_870_911, 536_870_912, 1 << 32]

    /// Strings a decoder must refuse (invalid UTF-8) or keep exactly (escapes, non-ASCII).
    static let interestingStrings: [[UInt8]] = [
        [], [0xFF], [0xC3], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x61, 0x80, 0x62],
        Array("a\nb".utf8), Array("\"\\".utf8), Array("é✓😀".utf8), Array("\u{0}".utf8), Array("{a=\"b\"}".utf8),
        Array("envoy.cluster_name".utf8), Array("cluster.upstream_rq_total".utf8),
        Array(repeating: 0x61, count: 300), Array(repeating: 0x5C, count: 64),
    ]

    /// Applies one structure-aware mutation; returns false when `input` does not read as a
    /// message (the caller then mutates bytes).
    static func mutate(_ input: inout [UInt8], donor: [UInt8], using random: inout SplitMix64) -> Bool {
        guard var fields = WireField.read(input[...]), !fields.isEmpty else { return false }
        let paths = allPaths(fields)
        let path = paths.randomElement(using: &random)!
        let donorFields = WireField.read(donor[...]).map(allFields) ?? []
        switch Int.random(in: 0..<14, using: &random) {
        case 0, 1:
            update(&fields, at: path) { changeValue(&$0, using: &random) }
        case 2:
            update(&fields, at: path) { $0.number = interestingFieldNumbers.randomElement(using: &random)! }
        case 3:
            update(&fields, at: path) { $0.wireType = UInt8.random(in: 0...7, using: &random) }
        case 4:
            update(&fields, at: path) { $0.lengthError = [-2, -1, 1, 2, 100, 1 << 31, 1 << 40].randomElement(using: &random)! }
        case 5:
            update(&fields, at: path) { field in
                field.keyPadding = [1, 4, 9, 10].randomElement(using: &random)!
            }
        case 6:
            remove(&fields, at: path)
        case 7:
            // The same field again, next to itself: a repeated field, or a singular one set twice.
            var copy: WireField?
            update(&fields, at: path) { copy = $0 }
            let count = [1, 1, 1, 2, 50, 500].randomElement(using: &random)!
            insert(Array(repeating: copy!, count: count), into: &fields, at: path)
        case 8:
            // A field of the donor (the fuzzer's other input) dropped in here.
            guard let foreign = donorFields.randomElement(using: &random) else { return false }
            insert([foreign], into: &fields, at: path)
        case 9:
            insert([craftedField(using: &random)], into: &fields, at: path)
        case 10:
            swapWithNeighbour(&fields, at: path)
        case 11:
            // Bytes mutated inside a nested payload: the lengths around it stay right.
            update(&fields, at: path) { field in
                guard var content = field.contentBytes else { return }
                ByteMutator.mutate(&content, donor: [], maximumSize: 1 << 16, using: &random)
                field.payload = .bytes(content)
            }
        case 12:
            update(&fields, at: path) { field in
                guard field.wireType == 2 else { return }
                field.payload = .bytes(interestingStrings.randomElement(using: &random)!)
            }
        default:
            // Shuffle the fields of one message (decoders must take any order).
            update(&fields, at: Array(path.dropLast()), orRoot: { $0.shuffle(using: &random) }) { field in
                if case .message(var nested, let padding) = field.payload {
                    nested.shuffle(using: &random)
                    field.payload = .message(nested, padding: padding)
                }
            }
        }
        input = WireField.write(fields)
        return true
    }

    /// A new value of the field's own kind.
    private static func changeValue(_ field: inout WireField, using random: inout SplitMix64) {
        switch field.payload {
        case .varint(_, let padding):
            let values: [UInt64] = [
                0, 1, 2, 3, 4, 5, 6, 127, 128, 1 << 31, 1 << 32, (1 << 32) + 1, (1 << 32) + 4, UInt64(Int64.max), 1 << 63, .max,
                UInt64(bitPattern: -1), UInt64(bitPattern: Int64.min), UInt64.random(in: 0...UInt64.max, using: &random),
            ]
            field.payload = .varint(values.randomElement(using: &random)!, padding: Bool.random(using: &random) ? padding : 0)
        case .fixed64:
            field.payload = .fixed64(
                Bool.random(using: &random) ? ByteMutator.interestingDoubles.randomElement(using: &random)!.bitPattern
                    : UInt64.random(in: 0...UInt64.max, using: &random))
        case .fixed32:
            field.payload = .fixed32(UInt32.random(in: 0...UInt32.max, using: &random))
        case .bytes, .message:
            field.payload = .bytes(interestingStrings.randomElement(using: &random)!)
        }
    }

    private static func craftedField(using random: inout SplitMix64) -> WireField {
        let number = interestingFieldNumbers.randomElement(using: &random)!
        switch Int.random(in: 0..<5, using: &random) {
        case 0: return .varint(number, [0, 1, 4, 1 << 32, .max].randomElement(using: &random)!)
        case 1: return .double(number, ByteMutator.interestingDoubles.randomElement(using: &random)!)
        case 2: return WireField(number: number, wireType: 5, payload: .fixed32(UInt32.random(in: 0...UInt32.max, using: &random)))
        case 3: return .bytes(number, interestingStrings.randomElement(using: &random)!)
        default:
            // A start or end group marker, which the readers must refuse or skip, not misread.
            return WireField(number: number, wireType: UInt8.random(in: 3...4, using: &random), payload: .bytes([]))
        }
    }

    // MARK: The tree

    /// The path (indices, outermost first) of every field of the tree.
    static func allPaths(_ fields: [WireField], prefix: [Int] = []) -> [[Int]] {
        var paths: [[Int]] = []
        for (index, field) in fields.enumerated() {
            paths.append(prefix + [index])
            if let nested = field.fields { paths += allPaths(nested, prefix: prefix + [index]) }
        }
        return paths
    }

    static func allFields(_ fields: [WireField]) -> [WireField] {
        fields.flatMap { field in [field] + (field.fields.map(allFields) ?? []) }
    }

    private static func update(_ fields: inout [WireField], at path: [Int], _ change: (inout WireField) -> Void) {
        update(&fields, at: path, orRoot: { _ in }, change)
    }

    /// Changes the field at `path`; an empty path changes the root list with `orRoot`.
    private static func update(
        _ fields: inout [WireField], at path: [Int], orRoot: (inout [WireField]) -> Void, _ change: (inout WireField) -> Void
    ) {
        guard let first = path.first else {
            orRoot(&fields)
            return
        }
        if path.count == 1 {
            change(&fields[first])
            return
        }
        guard case .message(var nested, let padding) = fields[first].payload else { return }
        update(&nested, at: Array(path.dropFirst()), orRoot: orRoot, change)
        fields[first].payload = .message(nested, padding: padding)
    }

    /// Applies `change` to the list of fields that holds the field at `path`.
    private static func updateList(_ fields: inout [WireField], containing path: [Int], _ change: (inout [WireField], Int) -> Void) {
        guard path.count > 1 else {
            change(&fields, path[0])
            return
        }
        guard case .message(var nested, let padding) = fields[path[0]].payload else { return }
        updateList(&nested, containing: Array(path.dropFirst()), change)
        fields[path[0]].payload = .message(nested, padding: padding)
    }

    private static func remove(_ fields: inout [WireField], at path: [Int]) {
        updateList(&fields, containing: path) { list, index in list.remove(at: index) }
    }

    private static func insert(_ new: [WireField], into fields: inout [WireField], at path: [Int]) {
        updateList(&fields, containing: path) { list, index in list.insert(contentsOf: new, at: index + 1) }
    }

    private static func swapWithNeighbour(_ fields: inout [WireField], at path: [Int]) {
        updateList(&fields, containing: path) { list, index in
            if index + 1 < list.count { list.swapAt(index, index + 1) } else if index > 0 { list.swapAt(index, index - 1) }
        }
    }
}
