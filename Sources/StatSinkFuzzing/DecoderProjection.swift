/// The fields of a `StreamMetricsMessage` that a decoder needs for the snapshot, and only those.
///
/// `DecodedMetricsMessage` deliberately skips what it does not use (`help`, `unit`, exemplars,
/// created timestamps, the rest of `Node`, the value fields of other metric types) without
/// checking it, where swift-protobuf checks every field it knows (UTF-8, nested messages). So
/// swift-protobuf may refuse bytes our decoder rightly takes. The projection drops those
/// fields; swift-protobuf must then decode what is left, and to the same snapshot. The metric
/// type is read as protobuf reads an enum (a 32-bit truncation of the varint), independently of
/// our decoder, so that a decoder reading the type differently is caught.
enum DecoderProjection {
    /// The projection of a message; `nil` when the bytes are not a message in the first place.
    static func streamMetricsMessage(_ bytes: [UInt8]) -> [UInt8]? {
        decideEach(bytes[...]) { field in
            switch field.number {
            case 1: nested(field, identifier)
            case 2: nested(field, family)
            default: .drop
            }
        }.map(WireField.write)
    }

    private enum Decision {
        case keep(WireField)
        case drop
        case unreadable
    }

    private static func project(_ bytes: ArraySlice<UInt8>, _ decide: ([WireField]) -> [WireField]?) -> [WireField]? {
        guard let fields = WireField.read(bytes, depth: 0) else { return nil }
        return decide(fields)
    }

    private static func decideEach(_ bytes: ArraySlice<UInt8>, _ decide: (WireField) -> Decision) -> [WireField]? {
        project(bytes) { (fields: [WireField]) -> [WireField]? in
            var kept: [WireField] = []
            for field in fields {
                switch decide(field) {
                case .keep(let field): kept.append(field)
                case .drop: continue
                case .unreadable: return nil
                }
            }
            return kept
        }
    }

    /// A message field projected by `inner`; a field of another wire type is kept as it is
    /// (protobuf keeps it as an unknown field).
    private static func nested(_ field: WireField, _ inner: ([WireField]) -> [WireField]?) -> Decision {
        guard field.wireType == 2, let content = field.contentBytes else { return .keep(field) }
        guard let fields = project(content[...], inner) else { return .unreadable }
        return .keep(WireField.message(field.number, fields))
    }

    /// Keeps the fields numbered `numbers` as they are.
    private static func only(_ numbers: Set<UInt64>) -> ([WireField]) -> [WireField]? {
        { fields in fields.filter { numbers.contains($0.number) } }
    }

    private static func identifier(_ fields: [WireField]) -> [WireField]? {
        var kept: [WireField] = []
        for field in fields where field.number == 1 {
            guard case .keep(let node) = nested(field, only([1, 2])) else { return nil }
            kept.append(node)
        }
        return kept
    }

    private static func family(_ fields: [WireField]) -> [WireField]? {
        // protobuf's enum reading: the last known value wins, unknown ones leave the type.
        var type: Int32 = 0
        for field in fields where field.number == 3 {
            if case .varint(let value, _) = field.payload, field.wireType == 0, (0...5).contains(Int32(truncatingIfNeeded: value)) {
                type = Int32(truncatingIfNeeded: value)
            }
        }
        var kept: [WireField] = []
        for field in fields {
            switch field.number {
            case 1, 3: kept.append(field)
            case 4:
                guard case .keep(let metric) = nested(field, { metric($0, type: type) }) else { return nil }
                kept.append(metric)
            default: continue
            }
        }
        return kept
    }

    private static func metric(_ fields: [WireField], type: Int32) -> [WireField]? {
        // Gauge 2, counter 3, summary 4, histogram 7 (untyped and gauge histograms are refused
        // before their values are read).
        let valueField: UInt64? = switch type {
        case 0: 3
        case 1: 2
        case 2: 4
        case 4: 7
        default: nil
        }
        var kept: [WireField] = []
        for field in fields {
            let decision: Decision
            switch field.number {
            case 1: decision = nested(field, only([1, 2]))
            case 6: decision = .keep(field)
            case valueField:
                decision = switch type {
                case 2: nested(field, summary)
                case 4: nested(field, histogram)
                default: nested(field, only([1]))
                }
            default: decision = .drop
            }
            switch decision {
            case .keep(let field): kept.append(field)
            case .drop: continue
            case .unreadable: return nil
            }
        }
        return kept
    }

    private static func summary(_ fields: [WireField]) -> [WireField]? {
        entries(fields, keeping: [1, 2], entryFields: [1, 2])
    }

    private static func histogram(_ fields: [WireField]) -> [WireField]? {
        // The native histogram fields (4 to 14, and a bucket's 4) make the converter refuse:
        // they stay.
        entries(fields, keeping: Set(1...14).subtracting([3]), entryFields: [1, 2, 4])
    }

    private static func entries(_ fields: [WireField], keeping numbers: Set<UInt64>, entryFields: Set<UInt64>) -> [WireField]? {
        var kept: [WireField] = []
        for field in fields {
            if field.number == 3 {
                guard case .keep(let entry) = nested(field, only(entryFields)) else { return nil }
                kept.append(entry)
            } else if numbers.contains(field.number) {
                kept.append(field)
            }
        }
        return kept
    }
}
