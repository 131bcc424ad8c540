-- kafka-stat-sink queue schema, version 2: what operators need after an outage.
-- Append-only history, like 0001. The views answer the common questions in the sqlite3 shell
-- (README, "Query the backlog with sqlite3"); none of them reads a payload (length() of a BLOB
-- comes from the record header). Ages are seconds, computed when the view is read.

-- Queue files found damaged at open and moved aside (never deleted); the queue restarted empty
-- in a fresh file, which holds this record. `statsink recover` salvages the moved file's rows.
CREATE TABLE quarantined_files (
    id                  INTEGER PRIMARY KEY,
    original_path       TEXT    NOT NULL,
    moved_to            TEXT    NOT NULL,  -- PATH.corrupt-<UTC time>; its -wal and -shm moved alongside
    detected_at_ms      INTEGER NOT NULL,
    reason              TEXT    NOT NULL,  -- what PRAGMA quick_check or SQLite said
    file_bytes          INTEGER NOT NULL,
    carried_streams     INTEGER NOT NULL,  -- streams whose snapshot numbering was read from the old file
    sequence_floor      INTEGER NOT NULL   -- other streams number their snapshots above this
);

-- Per stream: what waits for delivery.
CREATE VIEW backlog_summary AS
SELECT stream, topic,
       count(*)                                    AS rows,
       sum(length(payload))                        AS payload_bytes,
       sum(metric_count)                           AS metrics,
       min(id)                                     AS first_id,
       max(id)                                     AS last_id,
       min(enqueued_at_ms)                         AS oldest_enqueued_at_ms,
       max(enqueued_at_ms)                         AS newest_enqueued_at_ms,
       round(((julianday('now') - 2440587.5) * 86400000.0 - min(enqueued_at_ms)) / 1000.0, 1) AS oldest_age_s,
       round(((julianday('now') - 2440587.5) * 86400000.0 - max(enqueued_at_ms)) / 1000.0, 1) AS newest_age_s,
       sum(attempts > 0)                           AS retried_rows
FROM messages
GROUP BY stream, topic;

-- Dead letters grouped by the broker's error.
CREATE VIEW dead_letters_by_error AS
SELECT stream, topic, error_name, error,
       count(*)                                    AS rows,
       sum(length(payload))                        AS payload_bytes,
       sum(metric_count)                           AS metrics,
       min(id)                                     AS first_id,
       max(id)                                     AS last_id,
       min(dead_lettered_at_ms)                    AS first_at_ms,
       max(dead_lettered_at_ms)                    AS last_at_ms,
       round(((julianday('now') - 2440587.5) * 86400000.0 - max(dead_lettered_at_ms)) / 1000.0, 1) AS last_age_s
FROM dead_letters
GROUP BY stream, topic, error_name, error;

-- Rows that left without delivery, by reason, most recent first (counts are over the file's life).
CREATE VIEW recent_drops AS
SELECT stream, reason, rows, payload_bytes, metrics, last_drop_at_ms,
       round(((julianday('now') - 2440587.5) * 86400000.0 - last_drop_at_ms) / 1000.0, 1) AS last_drop_age_s
FROM drops
ORDER BY last_drop_at_ms DESC;

-- Per stream: snapshot numbering and delivery history.
CREATE VIEW stream_status AS
SELECT stream, topic, last_snapshot_seq, enqueued_rows, delivered_rows, delivered_bytes, last_delivery_at_ms,
       round(((julianday('now') - 2440587.5) * 86400000.0 - last_delivery_at_ms) / 1000.0, 1) AS last_delivery_age_s,
       last_error, last_error_at_ms,
       round(((julianday('now') - 2440587.5) * 86400000.0 - last_error_at_ms) / 1000.0, 1) AS last_error_age_s
FROM streams;

-- The waiting messages without their payload, oldest first.
CREATE VIEW pending_messages AS
SELECT id, stream, topic, node_id, snapshot_seq, snapshot_time_ms, batch_index, batch_count, format, metric_count,
       length(payload) AS payload_bytes, enqueued_at_ms,
       round(((julianday('now') - 2440587.5) * 86400000.0 - enqueued_at_ms) / 1000.0, 1) AS age_s,
       attempts, last_attempt_at_ms, last_error
FROM messages
ORDER BY id;
