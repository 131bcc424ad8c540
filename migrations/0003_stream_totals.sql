-- kafka-stat-sink queue schema, version 3: running totals per stream.
-- Append-only history, like 0001 and 0002. The sink reports its backlog with every snapshot and
-- every /metrics scrape; counting it by scanning `messages` read every leaf page of the backlog
-- (0.15-0.3 s for 1 GiB), so triggers keep the totals instead. They follow every change,
-- including deletes made by hand in the sqlite3 shell.

ALTER TABLE streams ADD COLUMN queued_rows        INTEGER NOT NULL DEFAULT 0;  -- rows in messages
ALTER TABLE streams ADD COLUMN queued_bytes       INTEGER NOT NULL DEFAULT 0;  -- their payload bytes
ALTER TABLE streams ADD COLUMN dead_letter_rows   INTEGER NOT NULL DEFAULT 0;  -- rows in dead_letters

-- Rows written before this version (streams may lack a row only in files edited by hand).
INSERT OR IGNORE INTO streams (stream, topic) SELECT stream, max(topic) FROM messages GROUP BY stream;
INSERT OR IGNORE INTO streams (stream, topic) SELECT stream, max(topic) FROM dead_letters GROUP BY stream;
UPDATE streams SET
    queued_rows      = (SELECT count(*) FROM messages m WHERE m.stream = streams.stream),
    queued_bytes     = (SELECT coalesce(sum(length(payload)), 0) FROM messages m WHERE m.stream = streams.stream),
    dead_letter_rows = (SELECT count(*) FROM dead_letters d WHERE d.stream = streams.stream);

CREATE TRIGGER messages_count_insert AFTER INSERT ON messages BEGIN
    INSERT OR IGNORE INTO streams (stream, topic) VALUES (NEW.stream, NEW.topic);
    UPDATE streams SET queued_rows = queued_rows + 1, queued_bytes = queued_bytes + NEW.payload_bytes
    WHERE stream = NEW.stream;
END;

CREATE TRIGGER messages_count_delete AFTER DELETE ON messages BEGIN
    UPDATE streams SET queued_rows = queued_rows - 1, queued_bytes = queued_bytes - OLD.payload_bytes
    WHERE stream = OLD.stream;
END;

CREATE TRIGGER dead_letters_count_insert AFTER INSERT ON dead_letters BEGIN
    INSERT OR IGNORE INTO streams (stream, topic) VALUES (NEW.stream, NEW.topic);
    UPDATE streams SET dead_letter_rows = dead_letter_rows + 1 WHERE stream = NEW.stream;
END;

CREATE TRIGGER dead_letters_count_delete AFTER DELETE ON dead_letters BEGIN
    UPDATE streams SET dead_letter_rows = dead_letter_rows - 1 WHERE stream = OLD.stream;
END;

-- Our code never moves a row to another stream or changes its size; a hand edit might.
CREATE TRIGGER messages_count_update AFTER UPDATE OF stream, payload_bytes ON messages BEGIN
    UPDATE streams SET queued_rows = queued_rows - 1, queued_bytes = queued_bytes - OLD.payload_bytes
    WHERE stream = OLD.stream;
    INSERT OR IGNORE INTO streams (stream, topic) VALUES (NEW.stream, NEW.topic);
    UPDATE streams SET queued_rows = queued_rows + 1, queued_bytes = queued_bytes + NEW.payload_bytes
    WHERE stream = NEW.stream;
END;

CREATE TRIGGER dead_letters_count_update AFTER UPDATE OF stream ON dead_letters BEGIN
    UPDATE streams SET dead_letter_rows = dead_letter_rows - 1 WHERE stream = OLD.stream;
    INSERT OR IGNORE INTO streams (stream, topic) VALUES (NEW.stream, NEW.topic);
    UPDATE streams SET dead_letter_rows = dead_letter_rows + 1 WHERE stream = NEW.stream;
END;
