/// The golden vectors of `wire-format.md` §4, as bytes.
public enum GoldenVectors {
    /// A `StreamMetricsMessage` with identifier `{node{id:"n1", cluster:"c1"}}`, the counter family
    /// `cluster.upstream_rq_total` (label `envoy.cluster_name=svc`, value 5) and the gauge family
    /// `server.live` (value 1), both at `timestamp_ms` 1000: 119 bytes.
    public static let streamMetricsMessage = bytes(hex:
        "0a0a0a080a026e311202633112480a19636c75737465722e757073747265616d5f72715f746f74616c180022290a190a12656e766f792e636c75737465725f6e616d6512037376631a0909000000000000144030e807121f0a0b7365727665722e6c6976651801220e120909000000000000f03f30e807"
    )

    /// The counter family `c`, no labels, value 5, `timestamp_ms` 1000, as an `envoy_metrics` entry.
    public static let counterEntry = bytes(hex: "12150a01631800220e1a0909000000000000144030e807")

    /// Bytes written as hex digits, two per byte.
    public static func bytes(hex: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }
}
