-- kafka-stat-sink queue schema, version 1.
-- This file is append-only history: once shipped it is never edited; changes come as new files.
-- Operators read these tables with the sqlite3 shell; names and units are part of the interface.
-- Timestamps are epoch milliseconds (UTC). Sizes are bytes.

-- Messages waiting for a broker acknowledgement, oldest first. A row is deleted only when its
-- delivery report says the broker acknowledged it; a permanent failure moves it to dead_letters.
CREATE TABLE messages (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,  -- record id: only increases, never reused
    stream              TEXT    NOT NULL,  -- the sink the row is for: "TOPIC@BROKER_LIST"
    topic               TEXT    NOT NULL,
    enqueued_at_ms      INTEGER NOT NULL,
    node_id             TEXT    NOT NULL,
    snapshot_seq        INTEGER NOT NULL,  -- 1, 2, ... per stream; never reused
    snapshot_time_ms    INTEGER NOT NULL,
    batch_index         INTEGER NOT NULL,  -- 0-based position of this message in its snapshot
    batch_count         INTEGER NOT NULL,
    format              TEXT    NOT NULL CHECK (format IN ('JSON', 'PROTOBUF')),
    metric_count        INTEGER NOT NULL,
    message_key         BLOB    NOT NULL,
    headers             TEXT    NOT NULL,  -- JSON array of [name, value] pairs, in produce order
    payload             BLOB    NOT NULL,  -- the Kafka message value, byte-identical to Envoy's
    payload_bytes       INTEGER NOT NULL,
    attempts            INTEGER NOT NULL DEFAULT 0,  -- failed delivery attempts so far
    last_attempt_at_ms  INTEGER,
    last_error          TEXT
);
CREATE INDEX messages_by_stream ON messages (stream, id);

-- Messages the broker refused for good (too large, not authorized, ...), kept for replay.
CREATE TABLE dead_letters (
    id                  INTEGER PRIMARY KEY,  -- the record id it had in messages
    stream              TEXT    NOT NULL,
    topic               TEXT    NOT NULL,
    enqueued_at_ms      INTEGER NOT NULL,
    node_id             TEXT    NOT NULL,
    snapshot_seq        INTEGER NOT NULL,
    snapshot_time_ms    INTEGER NOT NULL,
    batch_index         INTEGER NOT NULL,
    batch_count         INTEGER NOT NULL,
    format              TEXT    NOT NULL,
    metric_count        INTEGER NOT NULL,
    message_key         BLOB    NOT NULL,
    headers             TEXT    NOT NULL,
    payload             BLOB    NOT NULL,
    payload_bytes       INTEGER NOT NULL,
    attempts            INTEGER NOT NULL,
    dead_lettered_at_ms INTEGER NOT NULL,
    error_name          TEXT    NOT NULL,  -- librdkafka's error name, e.g. MSG_SIZE_TOO_LARGE
    error               TEXT    NOT NULL   -- the human-readable message
);

-- Every row that left the queue without delivery, counted by reason (never silently).
CREATE TABLE drops (
    stream              TEXT    NOT NULL,
    reason              TEXT    NOT NULL,  -- cap_drop_oldest, cap_drop_newest, disk_full, purge
    rows                INTEGER NOT NULL DEFAULT 0,
    payload_bytes       INTEGER NOT NULL DEFAULT 0,
    metrics             INTEGER NOT NULL DEFAULT 0,
    last_drop_at_ms     INTEGER NOT NULL,
    PRIMARY KEY (stream, reason)
);

-- One row per stream: its snapshot numbering and delivery history.
CREATE TABLE streams (
    stream              TEXT    PRIMARY KEY,
    topic               TEXT    NOT NULL,
    last_snapshot_seq   INTEGER NOT NULL DEFAULT 0,
    enqueued_rows       INTEGER NOT NULL DEFAULT 0,
    delivered_rows      INTEGER NOT NULL DEFAULT 0,
    delivered_bytes     INTEGER NOT NULL DEFAULT 0,
    last_delivery_at_ms INTEGER,
    last_error          TEXT,
    last_error_at_ms    INTEGER
);

-- The last cumulative value of each counter, so deltas stay right across restarts. Written in
-- the same transaction as the snapshot that used it.
CREATE TABLE counter_state (
    stream              TEXT    NOT NULL,
    name                TEXT    NOT NULL,  -- the counter's full name
    value               INTEGER NOT NULL,  -- stored as the two's-complement bits of the UInt64
    PRIMARY KEY (stream, name)
) WITHOUT ROWID;
