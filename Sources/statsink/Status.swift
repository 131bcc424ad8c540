import ArgumentParser
import StatSinkQueue

/// `statsink status --db PATH [--json]`
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what waits in a queue file, what failed and why, and what was dropped.",
        discussion: """
            Per stream: the backlog (rows, payload bytes, metrics, age of the oldest and newest row, \
            record ids), the last delivery and the last error; dead letters grouped by error; drops \
            by reason; damaged files this queue replaced; the file and WAL sizes; whether a drainer \
            (statsink run) is delivering the queue now, and its pid. Reads the file \
            read-only in one consistent read, without blocking a running sink. --json prints the \
            same figures for scripts (times in epoch ms, ages in seconds).
            """
    )

    @OptionGroup var queue: QueueFileOption

    @Flag(help: "Print JSON instead of tables.")
    var json = false

    func run() async throws {
        try OperatorOutput.requireFile(queue.db, option: "--db")
        let status = try await OperatorOutput.run { try MessageQueue.status(path: queue.db) }
        if json {
            try OperatorOutput.printJSON(status)
        } else {
            print(Self.render(status))
        }
    }

    static func render(_ drainer: QueueStatus.DrainerPresence) -> String {
        switch drainer {
        case .running(let pid?): "running (pid \(pid))"
        case .running(nil): "running"
        case .notRunning: "not running: nothing delivers this queue now"
        case .unknown: "unknown (this system has no /proc/locks)"
        }
    }

    static func render(_ status: QueueStatus) -> String {
        typealias Out = OperatorOutput
        let file = status.file
        let dropped = status.drops.reduce(Int64(0)) { $0 + $1.rows }
        var lines = [
            "queue        \(status.path) (schema \(status.schemaVersion)) at \(Out.timestamp(status.generatedAtMs))",
            "file         \(Out.bytes(file.fileBytes)) + WAL \(Out.bytes(file.walBytes)); \(Out.bytes(file.pageSize)) pages: \(file.pages - file.freePages) in use, \(file.freePages) free",
            "backlog      \(status.backlogRows) rows, \(Out.bytes(status.backlogBytes)); dead letters \(status.deadLetterRows); dropped \(dropped)",
            "drainer      \(Self.render(status.drainer))",
            "",
            "BACKLOG",
        ]
        var backlog = TextTable("STREAM", "TOPIC", "ROWS", "BYTES", "METRICS", "OLDEST", "NEWEST", "RETRIED", "IDS", rightAligned: [2, 3, 4, 5, 6, 7])
        for stream in status.streams {
            backlog.add(
                stream.stream, stream.topic, "\(stream.rows)", Out.bytes(stream.payloadBytes), "\(stream.metrics)",
                stream.oldestAgeSeconds.map(Out.age) ?? "-", stream.newestAgeSeconds.map(Out.age) ?? "-", "\(stream.retriedRows)",
                Out.range(stream.firstID, stream.lastID)
            )
        }
        lines.append(status.streams.isEmpty ? "(no streams)" : backlog.render())
        lines += ["", "DELIVERY"]
        var delivery = TextTable("STREAM", "LAST SEQ", "ENQUEUED", "DELIVERED", "LAST DELIVERY", "LAST ERROR", rightAligned: [1, 2, 3, 4])
        for stream in status.streams {
            let lastError = stream.lastError.map { error in "\(stream.lastErrorAgeSeconds.map(Out.age) ?? "?") ago: \(error)" } ?? "-"
            delivery.add(
                stream.stream, "\(stream.lastSnapshotSeq)", "\(stream.enqueuedRows)", "\(stream.deliveredRows)",
                stream.lastDeliveryAgeSeconds.map { "\(Out.age($0)) ago" } ?? "never", lastError
            )
        }
        lines.append(status.streams.isEmpty ? "(no streams)" : delivery.render())
        lines += ["", "DEAD LETTERS"]
        var dead = TextTable("STREAM", "ERROR", "ROWS", "BYTES", "LAST", "IDS", "MESSAGE", rightAligned: [2, 3, 4])
        for group in status.deadLetters {
            dead.add(
                group.stream, group.errorName, "\(group.rows)", Out.bytes(group.payloadBytes),
                "\(Out.age(Double(status.generatedAtMs - group.lastAtMs) / 1000)) ago", Out.range(group.firstID, group.lastID), group.error
            )
        }
        lines.append(status.deadLetters.isEmpty ? "(none)" : dead.render())
        lines += ["", "DROPS"]
        var drops = TextTable("STREAM", "REASON", "ROWS", "BYTES", "METRICS", "LAST", rightAligned: [2, 3, 4, 5])
        for drop in status.drops {
            drops.add(drop.stream, drop.reason, "\(drop.rows)", Out.bytes(drop.payloadBytes), "\(drop.metrics)", "\(Out.age(drop.lastDropAgeSeconds)) ago")
        }
        lines.append(status.drops.isEmpty ? "(none)" : drops.render())
        if !status.quarantinedFiles.isEmpty {
            lines += ["", "DAMAGED FILES MOVED ASIDE (salvage with: statsink recover --from MOVED_TO --into \(status.path))"]
            var quarantined = TextTable("DETECTED", "MOVED TO", "SIZE", "REASON", rightAligned: [2])
            for record in status.quarantinedFiles {
                quarantined.add(Out.timestamp(record.detectedAtMs), record.movedTo, Out.bytes(record.fileBytes), record.reason)
            }
            lines.append(quarantined.render())
        }
        return lines.joined(separator: "\n")
    }
}
