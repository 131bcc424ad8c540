-- kafka-stat-sink queue schema, version 4: the totals of `messages` are kept by the queue itself.
-- Append-only history. A trigger on `messages` made SQLite load every deleted row for it: with
-- 30 KB rows, deleting acknowledged rows took 70-90 % more system time (10,000 rows: 0.37-0.48 s
-- without the trigger, 0.70-0.78 s with it), on the drainer's hot path. The queue now adjusts
-- streams.queued_rows and queued_bytes in the same transactions that insert and delete rows,
-- and recomputes both at every open, which also repairs rows inserted or deleted by hand.
-- The dead_letters triggers stay: dead letters change rarely.

DROP TRIGGER messages_count_insert;
DROP TRIGGER messages_count_delete;
DROP TRIGGER messages_count_update;
