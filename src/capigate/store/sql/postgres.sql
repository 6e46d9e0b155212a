-- Named queries for PostgreSQL (psycopg 3, %(name)s parameters). Lists of ids arrive as an
-- array in %(ids)b (binary: a thousand ids dump twice as fast as text). sqlite.sql defines the
-- same names.

-- name: create_migrations_table
-- The record of applied schema migrations.
CREATE TABLE IF NOT EXISTS capigate_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at DOUBLE PRECISION NOT NULL
)

-- name: lock_migrations
-- One migrator per schema at a time; the lock ends with the transaction.
SELECT pg_advisory_xact_lock(hashtext('capigate_migrations.' || current_schema()))

-- name: applied_migrations
SELECT version FROM capigate_migrations

-- name: record_migration
INSERT INTO capigate_migrations (version, name, applied_at)
VALUES (%(version)s, %(name)s, %(now)s)

-- name: insert_event
-- Store a batch of events in one statement: each parameter is an array with one element per
-- event, in dedup-key order, sent in binary (text-format arrays of JSON are slow to quote). Returns (id, key) of each event stored; an event whose key is
-- active (stored before, or earlier in this batch) returns no row. A concurrent insert of the
-- same key waits for the other transaction, then does nothing.
INSERT INTO marketing_events (
    pixel_id, event_name, event_id, event_time, action_source, source, plan_key,
    test_event_code, payload, match_score, warnings, status, next_attempt_at,
    created_at, updated_at)
SELECT
    e.pixel_id, e.event_name, e.event_id, e.event_time, e.action_source, e.source, e.plan_key,
    e.test_event_code, e.payload, e.match_score, e.warnings, 'queued', %(now)s,
    %(now)s, %(now)s
FROM unnest(
    %(pixel_id)b::text[], %(event_name)b::text[], %(event_id)b::text[],
    %(event_time)b::bigint[], %(action_source)b::text[], %(source)b::text[],
    %(plan_key)b::text[], %(test_event_code)b::text[], %(payload)b::jsonb[],
    %(match_score)b::integer[], %(warnings)b::jsonb[]
) WITH ORDINALITY AS e(
    pixel_id, event_name, event_id, event_time, action_source, source, plan_key,
    test_event_code, payload, match_score, warnings, position)
ORDER BY e.position
ON CONFLICT DO NOTHING
RETURNING id, pixel_id, event_name, event_id

-- name: find_original
-- The event that holds an active dedup key.
SELECT id FROM marketing_events
WHERE pixel_id = %(pixel_id)s AND event_name = %(event_name)s AND event_id = %(event_id)s
  AND dedup_active

-- name: first_due_group
-- The first (pixel_id, test_event_code) group of the outbox in index order, with its
-- longest-due event (the lowest next_attempt_at, then id): one seek in the group index.
SELECT pixel_id, test_event_code, next_attempt_at, id FROM marketing_events
WHERE status IN ('queued', 'retry', 'leased')
ORDER BY pixel_id, test_event_code, next_attempt_at, id
LIMIT 1

-- name: next_due_group
-- The group after %(pixel_id)s/%(test_event_code)s, as first_due_group. Walking the groups
-- this way (a loose index scan) costs one seek per group, however many events are queued, so
-- leasing stays cheap with a deep outbox and when the pixels that hold it are excluded.
SELECT pixel_id, test_event_code, next_attempt_at, id FROM marketing_events
WHERE status IN ('queued', 'retry', 'leased')
  AND (pixel_id, test_event_code) > (%(pixel_id)s, %(test_event_code)s)
ORDER BY pixel_id, test_event_code, next_attempt_at, id
LIMIT 1

-- name: count_due
-- How many events of one group are due now, counting no further than %(max_events)s.
SELECT count(*) AS n FROM (
    SELECT 1 FROM marketing_events
    WHERE pixel_id = %(pixel_id)s AND test_event_code = %(test_event_code)s
      AND status IN ('queued', 'retry', 'leased') AND next_attempt_at <= %(now)s
    LIMIT %(max_events)s) AS due

-- name: lease_group
-- Lease the longest-due events of one group; rows another worker holds are skipped, and a row
-- leased meanwhile fails the re-checked WHERE, so no event is ever leased twice. ARRAY(...)
-- makes the update look the locked ids up by primary key.
UPDATE marketing_events
SET status = 'leased', lease_owner = %(worker_id)s, lease_expires_at = %(lease_expires_at)s,
    next_attempt_at = %(lease_expires_at)s, updated_at = %(now)s
WHERE id = ANY (ARRAY(
    SELECT id FROM marketing_events
    WHERE pixel_id = %(pixel_id)s AND test_event_code = %(test_event_code)s
      AND status IN ('queued', 'retry', 'leased') AND next_attempt_at <= %(now)s
    ORDER BY next_attempt_at, id
    LIMIT %(max_events)s
    FOR UPDATE SKIP LOCKED))
RETURNING id, pixel_id, nullif(test_event_code, '') AS test_event_code, event_time,
    action_source, attempts, payload

-- name: leased_events
-- What delivery needs of the records with these ids, by id: the fields of LeasedEvent in order.
-- (lease_group returns these columns itself here; SQLite leases ids on its writer and reads
-- the rows with this on its reader.)
SELECT id, pixel_id, nullif(test_event_code, '') AS test_event_code, event_time, action_source,
    attempts, payload
FROM marketing_events WHERE id = ANY (%(ids)b::bigint[]) ORDER BY id

-- name: ack
UPDATE marketing_events
SET status = 'delivered', attempts = attempts + 1, delivered_at = %(now)s, updated_at = %(now)s,
    last_response = %(response)s, next_attempt_at = NULL, lease_expires_at = NULL
WHERE id = ANY (%(ids)b::bigint[]) AND status = 'leased'

-- name: schedule_retry
UPDATE marketing_events
SET status = 'retry', attempts = attempts + 1, next_attempt_at = %(retry_at)s,
    updated_at = %(now)s, last_error = %(error)s, lease_expires_at = NULL
WHERE id = ANY (%(ids)b::bigint[]) AND status = 'leased'

-- name: dead_letter
UPDATE marketing_events
SET status = 'dead', attempts = attempts + 1, next_attempt_at = NULL, updated_at = %(now)s,
    last_error = %(error)s, lease_expires_at = NULL
WHERE id = ANY (%(ids)b::bigint[]) AND status = 'leased'

-- name: expire
UPDATE marketing_events
SET status = 'expired', next_attempt_at = NULL, updated_at = %(now)s, reason = %(reason)s,
    lease_expires_at = NULL
WHERE id = ANY (%(ids)b::bigint[]) AND status = 'leased'

-- name: release
-- Back to the queue without counting an attempt; due at %(available_at)s, or at once.
UPDATE marketing_events
SET status = 'queued', next_attempt_at = coalesce(%(available_at)s::float8, created_at),
    lease_expires_at = NULL
WHERE id = ANY (%(ids)b::bigint[]) AND status = 'leased'

-- name: requeue
-- Replay dead letters: same row and event_id, a fresh attempt count.
UPDATE marketing_events
SET status = 'queued', attempts = 0, next_attempt_at = %(now)s, updated_at = %(now)s,
    delivered_at = NULL, reason = NULL
WHERE id = ANY (%(ids)b::bigint[]) AND status = 'dead'

-- name: get_event
SELECT * FROM marketing_events WHERE id = %(id)s

-- name: list_events
-- {filters} is filled from a fixed list of "AND column = %(column)s" terms.
SELECT * FROM marketing_events
WHERE id < %(before_id)s {filters}
ORDER BY id DESC
LIMIT %(limit)s

-- name: count_by_status
SELECT status, count(*) AS n FROM marketing_events GROUP BY status

-- name: count_by_event_name
SELECT event_name, status, count(*) AS n FROM marketing_events GROUP BY event_name, status

-- name: oldest_queued
-- When the oldest queued event was enqueued (scans the outbox only, not the whole log).
SELECT min(created_at) AS created_at FROM marketing_events
WHERE status IN ('queued', 'retry', 'leased') AND status = 'queued'

-- name: outbox_depth
SELECT count(*) AS n FROM marketing_events WHERE status IN ('queued', 'retry', 'leased')

-- name: purge_dedup_keys
-- Free up to %(limit)s dedup keys older than the window; the events themselves stay.
UPDATE marketing_events SET dedup_active = FALSE
WHERE id IN (
    SELECT id FROM marketing_events
    WHERE dedup_active AND created_at < %(cutoff)s
    LIMIT %(limit)s)

-- name: save_circuit
-- Insert or replace a pixel's circuit, unless the saved one is newer.
INSERT INTO pixel_circuits (
    pixel_id, status, reason, opened_at, next_probe_at, failed_probes, updated_at)
VALUES (
    %(pixel_id)s, %(status)s, %(reason)s, %(opened_at)s, %(next_probe_at)s,
    %(failed_probes)s, %(updated_at)s)
ON CONFLICT (pixel_id) DO UPDATE SET
    status = excluded.status, reason = excluded.reason, opened_at = excluded.opened_at,
    next_probe_at = excluded.next_probe_at, failed_probes = excluded.failed_probes,
    updated_at = excluded.updated_at
WHERE excluded.updated_at >= pixel_circuits.updated_at

-- name: list_circuits
SELECT * FROM pixel_circuits ORDER BY pixel_id
