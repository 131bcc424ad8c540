#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One message of an export file: JSON Lines, one record per line, each self-contained.
///
/// ```json
/// {"attempts":0,"batch_count":2,"batch_index":0,"enqueued_at_ms":1764129600000,"format":"JSON",
///  "headers":[["content-type","application/json"],["statsink.node_id","edge-17"],...],"id":42,
///  "key":"ZWRnZS0xNw==","kind":"message","metric_count":100,"node_id":"edge-17",
///  "snapshot_seq":7,"snapshot_time_ms":1764129600000,"statsink_export":1,
///  "stream":"envoy-metrics@kafka1:9092","topic":"envoy-metrics","value":"eyJtZXRyaWNzIjpb..."}
/// ```
///
/// `key` and `value` are standard base64 (the Kafka key and value, byte for byte); `headers` are
/// the `[name, value]` pairs in produce order; `statsink_export` is the format version (1).
/// Dead letters (`"kind":"dead_letter"`) add `dead_lettered_at_ms`, `error_name` and `error`.
/// Secrets never reach a record: rows hold only what goes to Kafka.
public struct ExportRecord: Sendable, Hashable, Codable {
    /// The format version this build writes and reads.
    public static let currentVersion = 1

    /// Where the row was.
    public enum Kind: String, Sendable, Hashable, Codable {
        /// An undelivered row of `messages`.
        case message
        /// A row of `dead_letters`.
        case deadLetter = "dead_letter"
    }

    public var version: Int
    public var kind: Kind
    /// The record id in the exporting queue.
    public var id: Int64
    public var stream: String
    public var topic: String
    public var enqueuedAtMs: Int64
    public var nodeID: String
    public var snapshotSeq: Int64
    public var snapshotTimeMs: Int64
    public var batchIndex: Int
    public var batchCount: Int
    /// `JSON` or `PROTOBUF`.
    public var format: String
    public var metricCount: Int
    /// The Kafka key and value, base64.
    public var key: String
    public var value: String
    public var headers: [[String]]
    public var attempts: Int
    public var deadLetteredAtMs: Int64?
    public var errorName: String?
    public var error: String?

    enum CodingKeys: String, CodingKey {
        case version = "statsink_export", kind, id, stream, topic, enqueuedAtMs = "enqueued_at_ms", nodeID = "node_id"
        case snapshotSeq = "snapshot_seq", snapshotTimeMs = "snapshot_time_ms", batchIndex = "batch_index"
        case batchCount = "batch_count", format, metricCount = "metric_count", key, value, headers, attempts
        case deadLetteredAtMs = "dead_lettered_at_ms", errorName = "error_name", error
    }

    /// The decoded key and value, or what is wrong with the record.
    func validated() -> Result<(key: [UInt8], value: [UInt8]), ExportProblem> {
        guard version == Self.currentVersion else {
            return .failure(ExportProblem("statsink_export: version \(version) is not supported (this statsink reads \(Self.currentVersion))"))
        }
        guard !stream.isEmpty, !topic.isEmpty else { return .failure(ExportProblem("stream and topic must not be empty")) }
        guard format == "JSON" || format == "PROTOBUF" else {
            return .failure(ExportProblem("format: expected JSON or PROTOBUF, got \"\(format.prefix(40))\""))
        }
        guard batchCount >= 1, (0..<batchCount).contains(batchIndex) else {
            return .failure(ExportProblem("batch_index \(batchIndex) is not within batch_count \(batchCount)"))
        }
        guard metricCount >= 0, attempts >= 0 else { return .failure(ExportProblem("metric_count and attempts must not be negative")) }
        guard headers.allSatisfy({ $0.count == 2 }) else { return .failure(ExportProblem("headers: expected [name, value] pairs")) }
        guard let key = Data(base64Encoded: key) else { return .failure(ExportProblem("key: not base64")) }
        guard let value = Data(base64Encoded: value) else { return .failure(ExportProblem("value: not base64")) }
        return .success((Array(key), Array(value)))
    }

    /// Reads one line; what is wrong with it otherwise.
    static func decode(_ line: [UInt8]) -> Result<ExportRecord, ExportProblem> {
        do {
            return .success(try JSONDecoder().decode(ExportRecord.self, from: Data(line)))
        } catch let DecodingError.keyNotFound(key, _) {
            return .failure(ExportProblem("missing field \(key.stringValue)"))
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return .failure(ExportProblem("\(path): \(context.debugDescription)"))
        } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return .failure(ExportProblem("\(path): \(context.debugDescription)"))
        } catch {
            return .failure(ExportProblem("not a JSON object"))
        }
    }

    /// One line of JSON, without the newline.
    func encoded() throws(QueueError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(self))
        } catch {
            throw QueueError.fileFailed(path: "", operation: "encode record \(id)", reason: "\(error)")
        }
    }

    static func base64(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
    }
}

/// What is wrong with a line of an export file.
struct ExportProblem: Error {
    var message: String
    init(_ message: String) { self.message = message }
}
