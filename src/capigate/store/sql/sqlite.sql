-- Named queries for SQLite (stdlib sqlite3, :name parameters). Lists of ids arrive as a JSON
-- array in :ids and are unpacked with json_each. postgres.sql defines the same names.
-- INDEXED BY pins the partial indexes: without ANALYZE statistics the planner may prefer a
-- scan, and the leasing queries must stay cheap with a million events queued. The status
-- predicates repeat the partial indexes' WHERE clauses term for term (OR-chains: an IN list
-- costs a temporary table each time it runs, migration 0007), or the planner cannot use them.

-- name: create_migrations_table
-- The record of applied schema migrations.
CREATE TABLE IF NOT EXISTS capigate_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at REAL NOT NULL
)

-- name: lock_migrations
-- Nothing to do: the migration runs inside BEGIN IMMEDIATE, which already excludes writers.
SELECT 1

-- name: applied_migrations
SELECT version FROM capigate_migrations

-- name: record_migration
INSERT INTO capigate_migrations (version, name, applied_at) VALUES (:version, :name, :now)

-- name: insert_event
-- Store events unless their dedup key is active, with the ids the caller chose: ?1 is the id
-- before the first row (the table's highest, read in the same write transaction) and the k-th
-- row becomes ?1 + k; ?2 is how many rows are real. {rows} is one VALUES row per event: k, then
-- its numbered parameters of pixel_id to warnings as listed here (the event's payload
-- parameter, between test_event_code and match_score, is bound but skipped:
-- sqlite_enqueue.PAYLOADS_INSERT stores it), then the time now. The rows past ?2 pad the
-- statement to one of a few sizes and are dropped. No RETURNING clause: each row it returns
-- costs the writer thread one more step (and a GIL re-take); the rowcount tells whether every
-- row was stored, and sqlite_enqueue reads which were when not.
INSERT INTO marketing_events (
    id, pixel_id, event_name, event_id, event_time, action_source, source, plan_key,
    test_event_code, match_score, warnings, status, next_attempt_at,
    created_at, updated_at)
SELECT ?1 + column1, column2, column3, column4, column5, column6, column7, column8,
    column9, column10, column11, 'queued', column12, column12, column12
FROM (VALUES {rows})
WHERE column1 <= ?2
ON CONFLICT DO NOTHING

-- name: find_original
-- The events that hold the active dedup keys in :keys, a JSON array of [pixel_id, event_name,
-- event_id]: one row, a JSON array of [index in :keys, id] pairs, none for a key not held.
-- CROSS JOIN keeps the keys outer, each found by one seek in the dedup index.
SELECT json_group_array(json_array(k.key, e.id))
FROM json_each(:keys) AS k CROSS JOIN marketing_events AS e
WHERE e.pixel_id = k.value ->> 0 AND e.event_name = k.value ->> 1
  AND e.event_id = k.value ->> 2 AND e.dedup_active

-- name: first_due_group
-- The first (pixel_id, test_event_code) group of the outbox in index order, with its
-- longest-due event (the lowest next_attempt_at, then id): one seek in the group index.
SELECT pixel_id, test_event_code, next_attempt_at, id
FROM marketing_events INDEXED BY marketing_events_group_due
WHERE (status = 'queued' OR status = 'retry' OR status = 'leased')
ORDER BY pixel_id, test_event_code, next_attempt_at
LIMIT 1

-- name: next_due_group
-- The group after :pixel_id/:test_event_code, as first_due_group. Walking the groups this way
-- (a loose index scan) costs one seek per group, however many events are queued, so leasing
-- stays cheap with a deep outbox and when the pixels that hold it are excluded. Two seeks
-- (the pixel's next test_event_code, then the next pixel): SQLite scans every row of the pixel
-- for the row value (pixel_id, test_event_code) > (...), 24 ms with 200,000 queued.
SELECT * FROM (
    SELECT * FROM (
        SELECT pixel_id, test_event_code, next_attempt_at, id
        FROM marketing_events INDEXED BY marketing_events_group_due
        WHERE (status = 'queued' OR status = 'retry' OR status = 'leased')
          AND pixel_id = :pixel_id AND test_event_code > :test_event_code
        ORDER BY test_event_code, next_attempt_at
        LIMIT 1)
    UNION ALL
    SELECT * FROM (
        SELECT pixel_id, test_event_code, next_attempt_at, id
        FROM marketing_events INDEXED BY marketing_events_group_due
        WHERE (status = 'queued' OR status = 'retry' OR status = 'leased')
          AND pixel_id > :pixel_id
        ORDER BY pixel_id, test_event_code, next_attempt_at
        LIMIT 1))
ORDER BY pixel_id, test_event_code
LIMIT 1

-- name: count_due
-- How many events of one group are due now, counting no further than :max_events.
SELECT count(*) AS n FROM (
    SELECT 1 FROM marketing_events INDEXED BY marketing_events_group_due
    WHERE pixel_id = :pixel_id AND test_event_code = :test_event_code
      AND (status = 'queued' OR status = 'retry' OR status = 'leased') AND next_attempt_at <= :now
    LIMIT :max_events)

-- name: lease_group
-- Lease the longest-due events of one group; the caller holds the write lock. Only the ids
-- come back: the rows are read with leased_events on the reader connection, which keeps the
-- single writer free for the next lease or ack.
UPDATE marketing_events
SET status = 'leased', lease_owner = :worker_id, lease_expires_at = :lease_expires_at,
    next_attempt_at = :lease_expires_at, updated_at = :now
WHERE id IN (
    SELECT id FROM marketing_events INDEXED BY marketing_events_group_due
    WHERE pixel_id = :pixel_id AND test_event_code = :test_event_code
      AND (status = 'queued' OR status = 'retry' OR status = 'leased') AND next_attempt_at <= :now
    ORDER BY next_attempt_at, id
    LIMIT :max_events)
RETURNING id

-- name: leased_events
-- What delivery needs of the records with these ids (a JSON array), by id: the fields of
-- LeasedEvent in order, so each row becomes one by position.
SELECT e.id, e.pixel_id, nullif(e.test_event_code, '') AS test_event_code, e.event_time,
    e.action_source, e.attempts, p.payload
FROM marketing_events AS e CROSS JOIN marketing_event_payloads AS p ON p.id = e.id
WHERE e.id IN (SELECT value FROM json_each(:ids)) ORDER BY e.id

-- name: ack
UPDATE marketing_events
SET status = 'delivered', attempts = attempts + 1, delivered_at = :now, updated_at = :now,
    last_response = :response, next_attempt_at = NULL, lease_expires_at = NULL
WHERE id IN (SELECT value FROM json_each(:ids)) AND status = 'leased'

-- name: schedule_retry
UPDATE marketing_events
SET status = 'retry', attempts = attempts + 1, next_attempt_at = :retry_at, updated_at = :now,
    last_error = :error, lease_expires_at = NULL
WHERE id IN (SELECT value FROM json_each(:ids)) AND status = 'leased'

-- name: dead_letter
UPDATE marketing_events
SET status = 'dead', attempts = attempts + 1, next_attempt_at = NULL, updated_at = :now,
    last_error = :error, lease_expires_at = NULL
WHERE id IN (SELECT value FROM json_each(:ids)) AND status = 'leased'

-- name: expire
UPDATE marketing_events
SET status = 'expired', next_attempt_at = NULL, updated_at = :now, reason = :reason,
    lease_expires_at = NULL
WHERE id IN (SELECT value FROM json_each(:ids)) AND status = 'leased'

-- name: release
-- Back to the queue without counting an attempt; due at :available_at, or at once.
UPDATE marketing_events
SET status = 'queued', next_attempt_at = coalesce(:available_at, created_at),
    lease_expires_at = NULL
WHERE id IN (SELECT value FROM json_each(:ids)) AND status = 'leased'

-- name: requeue
-- Replay dead letters: same row and event_id, a fresh attempt count.
UPDATE marketing_events
SET status = 'queued', attempts = 0, next_attempt_at = :now, updated_at = :now,
    delivered_at = NULL, reason = NULL
WHERE id IN (SELECT value FROM json_each(:ids)) AND status = 'dead'

-- name: get_event
-- The full record: the event's row and its payload (CROSS JOIN: SQLite keeps the tables in
-- this order, the payload found by id for each event row).
SELECT marketing_events.*, p.payload
FROM marketing_events CROSS JOIN marketing_event_payloads AS p ON p.id = marketing_events.id
WHERE marketing_events.id = :id

-- name: list_events
-- {filters} is filled from a fixed list of "AND column = :column" terms (no column of
-- marketing_event_payloads shares their names).
SELECT marketing_events.*, p.payload
FROM marketing_events CROSS JOIN marketing_event_payloads AS p ON p.id = marketing_events.id
WHERE marketing_events.id < :before_id {filters}
ORDER BY marketing_events.id DESC
LIMIT :limit

-- name: count_by_status
SELECT status, count(*) AS n FROM marketing_events GROUP BY status

-- name: count_by_event_name
SELECT event_name, status, count(*) AS n FROM marketing_events GROUP BY event_name, status

-- name: oldest_queued
-- When the oldest queued event was enqueued (scans the outbox only, not the whole log).
SELECT min(created_at) AS created_at
FROM marketing_events INDEXED BY marketing_events_group_due
WHERE (status = 'queued' OR status = 'retry' OR status = 'leased') AND status = 'queued'

-- name: outbox_depth
SELECT count(*) AS n FROM marketing_events
WHERE (status = 'queued' OR status = 'retry' OR status = 'leased')

-- name: purge_dedup_keys
-- Free up to :limit dedup keys older than the window; the events themselves stay.
UPDATE marketing_events SET dedup_active = 0
WHERE id IN (
    SELECT id FROM marketing_events INDEXED BY marketing_events_dedup_age
    WHERE dedup_active AND created_at < :cutoff
    LIMIT :limit)

-- name: save_circuit
-- Insert or replace a pixel's circuit, unless the saved one is newer.
INSERT INTO pixel_circuits (
    pixel_id, status, reason, opened_at, next_probe_at, failed_probes, updated_at)
VALUES (
    :pixel_id, :status, :reason, :opened_at, :next_probe_at, :failed_probes, :updated_at)
ON CONFLICT (pixel_id) DO UPDATE SET
    status = excluded.status, reason = excluded.reason, opened_at = excluded.opened_at,
    next_probe_at = excluded.next_probe_at, failed_probes = excluded.failed_probes,
    updated_at = excluded.updated_at
WHERE excluded.updated_at >= pixel_circuits.updated_at

-- name: list_circuits
SELECT * FROM pixel_circuits ORDER BY pixel_id
